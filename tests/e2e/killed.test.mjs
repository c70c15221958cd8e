// Killed at random moments: a busy multi-threaded program (ticks every
// 20 ms) is SIGKILLed 20 times after a random delay (seeded, 50 to 500 ms).
// Every file reads (status 0, plain and sanitized reader), says it is not
// complete, and is consistent: the sites' live figures add up to the
// summary, nothing is negative, the leaks made before "ready" are all there.
// Also: reports of the file of a process that is still running.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { test } from 'node:test';
import {
  BUILD, assertLeak, describeSites, markers, prog, report, run, siteAt, src, tmpdir, traceFiles, tracedEnv,
} from './lib.mjs';

const BUSY = prog('busy');
const BUSY_C = src('busy.c');
const LEAK_LINE = markers(BUSY_C).LEAK.busy_leak;
const THREADS = 4, LEAKS = 5, LEAK_SIZE = 100; // as in busy.c
const ASAN = path.join(BUILD, 'leaktrace-asan');
const RUNS = 20, SEED = 20261127;

/** mulberry32: the same delays on every machine. */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Starts busy traced; calls onReady when it says so. */
function start(dir, onReady = () => {}) {
  const child = spawn(BUSY, ['30'], {
    env: tracedEnv(dir, { LEAKTRACE_TICK_MS: '20' }), cwd: dir, stdio: ['ignore', 'pipe', 'pipe'],
  });
  const state = { child, ready: false, stderr: '' };
  child.stderr.on('data', (d) => { state.stderr += d; });
  readline.createInterface({ input: child.stdout }).on('line', (l) => {
    if (l === 'ready') {
      state.ready = true;
      onReady();
    }
  });
  state.exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return state;
}

/** What must hold of any report of busy, complete or not. */
function assertConsistent(proc, ready, what) {
  const alloc = proc.sites.filter((s) => s.kind === 'allocation');
  const sum = alloc.reduce((a, s) => ({ live_bytes: a.live_bytes + s.live_bytes, live_blocks: a.live_blocks + s.live_blocks }),
    { live_bytes: 0, live_blocks: 0 });
  assert.deepEqual({ live_bytes: proc.summary.live_bytes, live_blocks: proc.summary.live_blocks }, sum,
    `${what}: summary is the sum of the sites\n${describeSites(alloc)}`);
  for (const s of alloc) {
    assert.ok(s.live_bytes >= s.live_blocks, `${what}: at least a byte per live block\n${describeSites([s])}`);
    for (const h of s.history) assert.ok(h.bytes >= 0 && h.blocks >= 0, `${what}: history never negative ${JSON.stringify(h)}`);
  }
  for (const pt of proc.timeline)
    assert.ok(pt.live_bytes >= 0 && pt.live_blocks >= 0 && pt.allocations >= pt.live_blocks,
      `${what}: timeline point ${JSON.stringify(pt)}`);
  const leak = proc.sites.filter((s) => s.frames[0].line === LEAK_LINE && s.frames[0].function === 'work');
  if (ready) {
    assertLeak(siteAt(proc, BUSY_C, LEAK_LINE), THREADS * LEAKS, LEAK_SIZE, `${what}: leaks made before "ready"`);
  } else {
    for (const s of leak) {
      assert.ok(s.live_blocks <= THREADS * LEAKS && s.live_bytes === s.live_blocks * LEAK_SIZE,
        `${what}: leak site\n${describeSites([s])}`);
    }
  }
}

test(`${RUNS} runs SIGKILLed at random moments: every file readable and consistent`, async (t) => {
  const next = rng(SEED);
  const dir = tmpdir(t);
  for (let i = 0; i < RUNS; i++) {
    const delay = 50 + Math.floor(next() * 451);
    const s = start(dir);
    await new Promise((r) => setTimeout(r, delay));
    s.child.kill('SIGKILL');
    const { signal } = await s.exited;
    const what = `run ${i + 1}, killed after ${delay} ms (pid ${s.child.pid}${s.ready ? ', ready' : ''})`;
    assert.equal(signal, 'SIGKILL', `${what}: ended by SIGKILL; stderr ${s.stderr}`);
    assert.equal(s.stderr, '', `${what}: nothing on stderr`);
    const files = traceFiles(dir).filter((f) => f.startsWith(`leaktrace.${s.child.pid}.`));
    assert.deepEqual(files, [`leaktrace.${s.child.pid}.lt`], `${what}: its file`);
    const file = path.join(dir, files[0]);
    const rep = report([file], ['--top', '0']);
    assert.equal(rep.process.complete, false, `${what}: not complete`);
    assertConsistent(rep, s.ready, what);
    const asan = run(ASAN, ['report', '--format', 'json', '--top', '0', file]);
    assert.equal(asan.status, 0, `${what}: sanitized reader: ${asan.what}`);
    assert.equal(asan.stderr, '', `${what}: sanitized reader says nothing`);
  }
});

test('the file of a running process: 10 reports while it allocates, each whole and consistent', async (t) => {
  const dir = tmpdir(t);
  let ready;
  const isReady = new Promise((r) => { ready = r; });
  const s = start(dir, ready);
  t.after(() => s.child.kill('SIGKILL'));
  await isReady;
  const file = path.join(dir, `leaktrace.${s.child.pid}.lt`);
  for (let i = 0; i < 10; i++) {
    await new Promise((r) => setTimeout(r, 30));
    const rep = report([file], ['--top', '0']);
    assert.equal(rep.process.complete, false, 'still running');
    assertConsistent(rep, true, `report ${i + 1} of a live process`);
  }
  s.child.kill('SIGKILL');
  await s.exited;
});
