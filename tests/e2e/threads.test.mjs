// Threads: eight threads allocating and freeing at once, with and without
// a known leak each. The threads run on stacks the program owns, so that
// glibc keeps nothing of theirs after the join (see tests/programs/common.h):
// the figures below are exact, zero included.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import {
  assertLeak, assertLive, assertStatus, markers, prog, report, run, siteAt, src, tmpdir, tracedEnv,
} from './lib.mjs';

const THREADS = prog('threads');
const NTHREADS = 8; // as in threads.c
const LEAK_LINE = markers(src('threads.c')).LEAK.thread_leak;

function traced(t, args) {
  const dir = tmpdir(t);
  const r = run(THREADS, args, { env: tracedEnv(dir), cwd: dir, timeout: 90000 });
  assertStatus(r);
  return report([path.join(dir, `leaktrace.${r.pid}.lt`)]);
}

test('8 threads x 1,000,000 malloc/free, all freed: nothing live', (t) => {
  const rep = traced(t, ['1000000', '0', '0']);
  assert.equal(rep.process.complete, true);
  assertLive(rep, { live_bytes: 0, live_blocks: 0 });
  assert.deepEqual(rep.sites, [], 'no site');
  assert.ok(rep.summary.allocations >= NTHREADS * 1000000, `allocations ${rep.summary.allocations} >= 8,000,000`);
  assert.ok(rep.summary.frees >= NTHREADS * 1000000, `frees ${rep.summary.frees} >= 8,000,000`);
});

test('8 threads each leaking 5 blocks of 24 bytes amid churn: exact figures', (t) => {
  const leaks = 5, size = 24;
  const rep = traced(t, ['200000', String(leaks), String(size)]);
  assert.equal(rep.process.complete, true);
  const site = siteAt(rep, src('threads.c'), LEAK_LINE);
  assertLeak(site, NTHREADS * leaks, size, 'the threads\' leak');
  assert.equal(site.frames[0].function, 'worker');
  assertLive(rep, { live_bytes: NTHREADS * leaks * size, live_blocks: NTHREADS * leaks });
  assert.ok(rep.summary.allocations >= NTHREADS * (200000 + leaks), `allocations ${rep.summary.allocations}`);
});

// glibc's pthread_getattr_np allocates under the thread's lock: a thread
// whose first allocation is there (Rust's, the JVM's) hung when the tracer
// looked for its stack with the same call.
test('threads that ask for their own attributes first: no hang, their leaks at their line', (t) => {
  const dir = tmpdir(t);
  const r = run(prog('getattr'), ['16'], { env: tracedEnv(dir), cwd: dir, timeout: 30000 });
  assertStatus(r);
  assert.equal(r.stdout, 'ok 16\n');
  const rep = report([path.join(dir, `leaktrace.${r.pid}.lt`)]);
  const site = siteAt(rep, src('getattr.c'), markers(src('getattr.c')).LEAK.thread_leak);
  assertLeak(site, 16, 48, 'each thread\'s block');
  assert.deepEqual(site.frames.slice(0, 2).map((f) => f.function), ['thread_leak', 'worker']);
});
