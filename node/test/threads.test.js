// The state file is the process's: the main thread's timers only, written
// by the main thread; the module takes its variable out of the environment,
// so a worker thread (whose environment is a copy) never sees it. And the
// heap's context counts, which need node:v8, come from the first tick on.
'use strict';

const assert = require('node:assert/strict');
const { test } = require('node:test');
const { assertOk, fixture, markers, run, show, siteAt, sitesAt, tmpdir } = require('./helpers');

const WORKERS = fixture('workers.js');
const M = markers(WORKERS);

test('a worker thread: its timers are not the process\'s, its module stays out', (t) => {
  const dir = tmpdir(t);
  const r = run(dir, WORKERS, ['3'], { env: { LEAKTRACE_TICK_MS: '50' } });
  assertOk(r);
  assert.deepEqual(JSON.parse(r.stdout), { main: false, worker: false }, 'the variable is gone in both threads');
  const s = r.state;
  assert.equal(s.complete, true);
  const main = siteAt(s, WORKERS, M.MAIN.line);
  assert.deepEqual([main.live, main.created, main.repeating], [2, 2, true], show(s));
  assert.deepEqual(sitesAt(s, WORKERS, M.WORKER.line), [], `no site of the worker's:\n${show(s)}`);
  assert.equal(s.timers_live, 2 + s.sites.filter((x) => x.line !== M.MAIN.line).reduce((n, x) => n + x.live, 0));
  assert.equal(r.stderr, '');
});

test('context counts: from the first tick on, null before it', (t) => {
  const dir = tmpdir(t);
  // Exits before its first tick (1 s): the start and exit writes only.
  const short = run(dir, WORKERS, ['0'], { env: { LEAKTRACE_TICK_MS: '1000' } });
  assertOk(short);
  assert.deepEqual([short.state.heap.native_contexts, short.state.heap.detached_contexts], [null, null]);
  // Ticks every 50 ms for 3 ticks: counted, the main context at least.
  const long = run(dir, WORKERS, ['3'], { env: { LEAKTRACE_TICK_MS: '50' } });
  assertOk(long);
  assert.ok(long.state.heap.native_contexts >= 1, `native contexts: ${long.state.heap.native_contexts}`);
  assert.equal(long.state.heap.detached_contexts, 0);
});
