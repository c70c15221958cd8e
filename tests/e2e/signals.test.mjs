// Signal handlers that interrupt allocations, and the tracer, in progress:
// SIGALRM every 100 us while the main thread allocates, reallocates and
// frees (and in a storm, from a thread every 20 us besides). The handler calls async-signal-safe functions only (some of them
// interposed: dup, close, timerfd_settime), or allocates and frees itself.
// No crash, no deadlock, the program's results unchanged, and figures that
// stay right: the main thread's leak exact; nothing negative; blocks that
// the handler freed are not reported live.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import {
  assertLeak, assertStatus, describeSites, frameAt, markers, prog, report, run, siteAt, src, tmpdir,
  tracedEnv,
} from './lib.mjs';

const SIGNALS = prog('signals');
const SIGNALS_C = src('signals.c');
const MARK = markers(SIGNALS_C);
const ITERATIONS = '300000';
const MAIN_LEAKS = 10, MAIN_LEAK_SIZE = 96; // as in signals.c
const LINE = /^signals (\w+): (\d+) iterations, (\d+) leaks, (\d+) handler runs, (\d+) handler allocations, (\d+) in the tracer$/;

function parse(stdout, what) {
  const m = LINE.exec(stdout.trim());
  assert.ok(m, `closing line in: ${stdout} (${what})`);
  const [, mode, iterations, leaks, runs, allocs, inTracer] = m;
  return { mode, iterations: Number(iterations), leaks: Number(leaks), runs: Number(runs),
    allocs: Number(allocs), inTracer: Number(inTracer) };
}

function traced(t, mode, iterations = ITERATIONS) {
  const plain = run(SIGNALS, [mode, iterations], { timeout: 30000 });
  assertStatus(plain);
  const p = parse(plain.stdout, 'untraced');
  const dir = tmpdir(t);
  const r = run(SIGNALS, [mode, iterations], { env: tracedEnv(dir), cwd: dir, timeout: 30000 });
  assertStatus(r);
  assert.equal(r.stderr, '', 'nothing on stderr');
  const got = parse(r.stdout, 'traced');
  // Timing makes the counts of handler runs differ; the work does not.
  assert.deepEqual({ iterations: got.iterations, leaks: got.leaks }, { iterations: p.iterations, leaks: p.leaks });
  assert.ok(got.runs >= 500, `the handler ran often: ${got.runs} times`);
  assert.ok(got.inTracer > 0, `the handler interrupted the tracer at least once (${got.inTracer} of ${got.runs})`);
  const rep = report([path.join(dir, `leaktrace.${r.pid}.lt`)], ['--top', '0']);
  assert.equal(rep.process.complete, true);
  return { rep, got };
}

/** The main thread's figures: its leak exact, its churn all freed, the summary the sum of the sites. */
function assertMain(rep) {
  assertLeak(siteAt(rep, SIGNALS_C, MARK.LEAK.main_leak), MAIN_LEAKS, MAIN_LEAK_SIZE, 'main loop leak');
  const churn = rep.sites.filter((s) => s.frames.some((f) => f.function === 'main_malloc' ||
    f.function === 'main_calloc' || (f.function === 'main' && !frameAt(f, SIGNALS_C, MARK.LEAK.main_leak))) &&
    !s.frames.some((f) => f.function === 'on_alarm'));
  assert.deepEqual(churn, [], `the main loop freed all its blocks:\n${describeSites(churn)}`);
  const alloc = rep.sites.filter((s) => s.kind === 'allocation');
  const sum = alloc.reduce((a, s) => ({ live_bytes: a.live_bytes + s.live_bytes, live_blocks: a.live_blocks + s.live_blocks }),
    { live_bytes: 0, live_blocks: 0 });
  assert.deepEqual({ live_bytes: rep.summary.live_bytes, live_blocks: rep.summary.live_blocks }, sum,
    'summary equals the sum of the sites');
}

test('async-signal-safe handler (dup, close, timerfd_settime) at 10 kHz: runs, exact figures', (t) => {
  const { rep } = traced(t, 'safe');
  assertMain(rep);
  assert.deepEqual(rep.sites.filter((s) => s.kind === 'allocation').map((s) => s.live_bytes), [MAIN_LEAKS * MAIN_LEAK_SIZE],
    `only the main loop's leak is live:\n${describeSites(rep.sites)}`);
  assert.deepEqual(rep.timers, [], 'the timerfd was closed, the itimer disarmed');
});

test('allocating handler at 10 kHz: runs, the main loop\'s figures exact, nothing negative', (t) => {
  const { rep } = traced(t, 'alloc');
  assertMain(rep);
});

test('allocating handler: the blocks it freed are not reported live', (t) => {
  // The handler frees every block it allocates (the last ones with the
  // signal blocked). A free made while the handler interrupted the tracer
  // is skipped by the recursion guard; if the block was recorded, it stays
  // live in the tables: a leak that is not there.
  const { rep, got } = traced(t, 'alloc');
  const handler = rep.sites.filter((s) => s.frames.some((f) => f.function === 'on_alarm'));
  const live = handler.reduce((a, s) => a + s.live_blocks, 0);
  assert.equal(live, 0, `${live} blocks reported live at the handler's sites, all of them freed ` +
    `(${got.allocs} handler allocations, ${got.inTracer} runs in the tracer):\n${describeSites(handler.slice(0, 5))}`);
});

test('signal storm (SIGALRM from a thread every 20 us) with an allocating handler: no crash, figures right', (t) => {
  // Many more handlers land while the tracer drains the frees that earlier
  // handlers made inside it.
  const { rep, got } = traced(t, 'storm', '1000000');
  assertMain(rep);
  const handler = rep.sites.filter((s) => s.frames.some((f) => f.function === 'on_alarm'));
  const live = handler.reduce((a, s) => a + s.live_blocks, 0);
  assert.equal(live, 0, `${live} blocks reported live at the handler's sites, all freed (${got.runs} handler runs)`);
});

// A handler's block: its stack goes through the C library's signal return
// trampoline, named as gdb names it, then on into the code interrupted.
test('a block kept by a signal handler: the trampoline named, the interrupted code below it', (t) => {
  const dir = tmpdir(t);
  const r = run(prog('sigleak'), [], { env: tracedEnv(dir), cwd: dir });
  assertStatus(r);
  assert.equal(r.stdout, 'kept\n');
  const rep = report([path.join(dir, `leaktrace.${r.pid}.lt`)]);
  const SL = src('sigleak.c');
  const site = siteAt(rep, SL, markers(SL).LEAK.handler);
  const names = site.frames.map((f) => f.function);
  assert.deepEqual(names.slice(0, 2), ['on_usr1', '<signal handler called>'], names.join(' <- '));
  assert.ok(names.indexOf('interrupted') > 1 && names.indexOf('main') > names.indexOf('interrupted'), names.join(' <- '));
});
