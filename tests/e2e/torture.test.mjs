// Torture: sixteen threads allocate, reallocate and free with every function
// of the family while two threads fork (some children exec) and the test
// takes snapshots through `leaktrace ctl`. No crash, no deadlock (a watchdog
// fails the test after 60 s), and exact figures in every file: what the
// parent leaked; what each child that the program forked at a known moment
// inherited (it wrote the figures it knows to expect.<pid>); what the
// children that freed their inheritance leaked themselves; what each exec'd
// image leaked.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { test } from 'node:test';
import { promisify } from 'node:util';
import {
  LEAKTRACE, assertLeak, assertLive, describeSites, frameAt, header, markers, processes, prog,
  report, siteAt, src, tmpdir, traceFiles, tracedEnv,
} from './lib.mjs';

const TORTURE = prog('torture');
const TORTURE_C = src('torture.c');
const MARK = markers(TORTURE_C);
const WORKERS = 16, THREADS = WORKERS + 2, WINDOW = 32; // as in torture.c
const LEAKS = 3, LEAK_SIZE = 333, CHILD_LEAKS = 2, CHILD_LEAK_SIZE = 555, EXEC_LEAK_SIZE = 4242;
const WATCHDOG_MS = 60000;
const SNAPSHOTS = 4;
const SITES = ['malloc', 'calloc', 'realloc', 'memalign'];

const execFileP = promisify(execFile);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Runs torture, snapshots it while it runs, stops it; rejects after the watchdog. */
function runTorture(dir) {
  return new Promise((resolve, reject) => {
    const child = spawn(TORTURE, ['run', '20000', '12'], {
      env: tracedEnv(dir, { LEAKTRACE_FOLLOW: 'all' }), cwd: dir, stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '', stderr = '', done = false;
    const snapshots = [];
    const watchdog = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`torture did not end within ${WATCHDOG_MS} ms (deadlock?); ` +
        `stdout ${stdout.slice(-2000)}; stderr ${stderr.slice(-2000)}`));
    }, WATCHDOG_MS);
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('error', reject);
    readline.createInterface({ input: child.stdout }).on('line', async (line) => {
      stdout += line + '\n';
      if (line !== 'ready') return;
      try {
        for (let i = 1; i <= SNAPSHOTS; i++) {
          await sleep(100);
          const r = await execFileP(LEAKTRACE, ['ctl', String(child.pid), 'snapshot', `torture-${i}`],
            { timeout: 10000 });
          snapshots.push(r.stdout);
        }
        const st = await execFileP(LEAKTRACE, ['ctl', String(child.pid), 'status'], { timeout: 10000 });
        snapshots.push(st.stdout);
      } catch (e) {
        snapshots.push(`ctl failed: ${e.message} ${e.stderr ?? ''}`);
      }
      child.stdin.end('stop\n');
    });
    child.on('exit', (code, signal) => {
      if (done) return;
      done = true;
      clearTimeout(watchdog);
      // Let readline deliver the last lines.
      setImmediate(() => resolve({ pid: child.pid, code, signal, stdout, stderr, snapshots }));
    });
  });
}

const key = (s) => ({
  live_blocks: s.live_blocks, live_bytes: s.live_bytes,
  allocations: s.allocations, bytes_allocated: s.bytes_allocated,
});

/** Sites of torture.c by marker name; sites elsewhere in `other`. */
function split(proc) {
  const lineOf = { ...MARK.SITE, ...MARK.LEAK };
  const ours = {}, other = [];
  for (const s of proc.sites) {
    const name = Object.keys(lineOf).find((n) => frameAt(s.frames[0], TORTURE_C, lineOf[n]));
    if (name) {
      assert.equal(ours[name], undefined, `one site per line: ${name}\n${describeSites(proc.sites)}`);
      ours[name] = s;
    } else {
      other.push(s);
    }
  }
  return { ours, other };
}

/**
 * What a fork child holds beyond torture.c's lines: only what the threads
 * alive at the fork hold (their stacks, mapped by own_thread_start, and
 * glibc's thread vector of each, allocated under pthread_create).
 */
function assertOnlyThreadState(proc, what) {
  const { other } = split(proc);
  let dtvs = 0, stacks = 0;
  for (const s of other) {
    const fns = s.frames.map((f) => f.function);
    if (s.kind === 'mapping') {
      assert.ok(fns.includes('own_thread_start'), `${what}: a mapping not of a thread stack:\n${describeSites([s])}`);
      stacks += s.live_blocks;
    } else {
      assert.ok(fns.includes('pthread_create'), `${what}: an allocation site not of torture.c nor of a thread:\n` +
        describeSites([s]));
      dtvs += s.live_blocks;
    }
  }
  assert.ok(dtvs <= THREADS, `${what}: ${dtvs} thread blocks, at most one per thread (${THREADS})`);
  assert.ok(stacks <= THREADS, `${what}: ${stacks} thread stacks, at most ${THREADS}`);
}

/** The sum of the allocation sites' live figures equals the summary. */
function assertConsistent(proc, what) {
  const alloc = proc.sites.filter((s) => s.kind === 'allocation');
  const sum = alloc.reduce((a, s) => ({
    live_bytes: a.live_bytes + s.live_bytes, live_blocks: a.live_blocks + s.live_blocks,
  }), { live_bytes: 0, live_blocks: 0 });
  assert.deepEqual({ live_bytes: proc.summary.live_bytes, live_blocks: proc.summary.live_blocks }, sum,
    `${what}: summary equals the sum of the allocation sites\n${describeSites(proc.sites)}`);
}

test('16 threads, forks with and without exec, snapshots: no deadlock, exact figures in every file', async (t) => {
  const dir = tmpdir(t);
  const r = await runTorture(dir);
  const what = `torture: status ${r.code} signal ${r.signal}\n  stderr: ${r.stderr.slice(-3000)}`;
  assert.equal(r.signal, null, what);
  assert.equal(r.code, 0, what);
  assert.equal(r.stderr, '', 'nothing on stderr');
  const end = /^torture: (\d+) ops, (\d+) quiet forks, (\d+) wild forks$/m.exec(r.stdout);
  assert.ok(end, `closing line in:\n${r.stdout}`);
  assert.ok(Number(end[1]) >= WORKERS * 20000, 'every worker did its operations');

  // Every snapshot was answered.
  for (let i = 1; i <= SNAPSHOTS; i++)
    assert.match(r.snapshots[i - 1], new RegExp(`^snapshot ${i}, torture-${i}, taken in process ${r.pid} `), `snapshot ${i}`);
  assert.match(r.snapshots[SNAPSHOTS], new RegExp(`^pid ${r.pid} .*: recording$`, 'm'), 'status');

  const kids = [...r.stdout.matchAll(/^child (\d+) (snap|own|exit|quit|exec)$/gm)].map((m) => ({
    pid: Number(m[1]), kind: m[2],
  }));
  const count = (k) => kids.filter((c) => c.kind === k).length;
  for (const k of ['snap', 'own', 'exit', 'quit', 'exec']) assert.ok(count(k) >= 3, `at least 3 ${k} children: ${count(k)}`);

  // One file for the parent and one for each child that recorded
  // something, and exec'd images; a child that _exits (or execs) at once
  // records nothing of its own and leaves no file ("quit").
  const files = traceFiles(dir);
  const want = [r.pid, ...kids.filter((c) => c.kind !== 'quit').map((c) => c.pid)]
    .map((p) => `leaktrace.${p}.lt`).sort();
  assert.deepEqual([...files].sort(), want, 'one trace file per process');

  const procs = processes(report(files.map((f) => path.join(dir, f)), ['--top', '0']));
  const byPid = new Map(procs.map((p) => [p.process.pid, p]));
  for (const p of procs) {
    assert.equal(p.process.complete, true, `${p.process.pid} complete`);
    assertConsistent(p, `pid ${p.process.pid}`);
  }

  // The parent: everything freed but the workers' leaks.
  const parent = byPid.get(r.pid);
  assert.equal(header(path.join(dir, `leaktrace.${r.pid}.lt`)).fork_child, false);
  assertLeak(siteAt(parent, TORTURE_C, MARK.LEAK.worker_leak), WORKERS * LEAKS, LEAK_SIZE, 'parent: workers\' leaks');
  assertLive(parent, { live_bytes: WORKERS * LEAKS * LEAK_SIZE, live_blocks: WORKERS * LEAKS });
  assert.deepEqual(parent.snapshots.map((s) => s.name), Array.from({ length: SNAPSHOTS }, (_, i) => `torture-${i + 1}`),
    'the parent keeps its snapshots');

  for (const kid of kids.filter((c) => c.kind !== 'quit')) {
    const p = byPid.get(kid.pid);
    const where = `${kid.kind} child ${kid.pid}`;
    const h = header(path.join(dir, `leaktrace.${kid.pid}.lt`));
    const { ours } = split(p);
    if (kid.kind === 'exec') {
      // A new image: nothing inherited, its one leak.
      assert.equal(h.fork_child, false, `${where}: a new image`);
      assert.deepEqual(p.process.command, [TORTURE, 'exec-leak'], where);
      assertLeak(siteAt(p, TORTURE_C, MARK.LEAK.exec_leak), 1, EXEC_LEAK_SIZE, where);
      assertLive(p, { live_bytes: EXEC_LEAK_SIZE, live_blocks: 1 });
      continue;
    }
    assert.deepEqual({ fork_child: h.fork_child, fork_parent: h.fork_parent }, { fork_child: true, fork_parent: r.pid },
      `${where}: header`);
    assertOnlyThreadState(p, where);
    if (kid.kind === 'snap') {
      // Forked while no worker was in the middle of a step: its file is
      // exactly the parent's state at the fork, as the child read it from
      // its copy of the workers' tables.
      const expect = fs.readFileSync(path.join(dir, `expect.${kid.pid}`), 'utf8').trim().split('\n');
      for (const line of expect) {
        const [name, ...n] = line.split(' ');
        const [live_blocks, live_bytes, allocations, bytes_allocated] = n.map(Number);
        const site = ours[name === 'leak' ? 'worker_leak' : name];
        if (live_blocks === 0) {
          assert.equal(site, undefined, `${where}: no live ${name} blocks`);
          continue;
        }
        assert.ok(site, `${where}: a ${name} site\n${describeSites(p.sites)}`);
        assert.deepEqual(key(site), { live_blocks, live_bytes, allocations, bytes_allocated }, `${where}: ${name} site`);
      }
    } else if (kid.kind === 'own') {
      // Freed all it inherited from the workers, leaked its own.
      for (const name of SITES) assert.equal(ours[name], undefined, `${where}: no live ${name} blocks`);
      assert.equal(ours.worker_leak, undefined, `${where}: the inherited leaks freed`);
      assertLeak(ours.child_leak, CHILD_LEAKS, CHILD_LEAK_SIZE, `${where}: its own leak`);
    } else {
      // Forked at any moment: at most every slot live, plus a step in flight.
      const live = SITES.reduce((a, n) => a + (ours[n]?.live_blocks ?? 0), 0);
      assert.ok(live <= WORKERS * (WINDOW + 1), `${where}: ${live} live worker blocks`);
      assert.ok((ours.worker_leak?.live_blocks ?? 0) <= WORKERS * LEAKS, `${where}: worker leaks`);
      assert.equal(ours.child_leak, undefined, `${where}: no child leak`);
    }
  }
});
