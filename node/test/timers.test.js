// Intervals left running by every request come out on top, at their line,
// with exact counts; timers that were cleared or fired are not live.
'use strict';

const assert = require('node:assert/strict');
const { test } = require('node:test');
const { assertOk, columnOf, fixture, markers, run, show, siteAt, tmpdir } = require('./helpers');

const REQUESTS = fixture('requests.js');
const M = markers(REQUESTS);

for (const n of [25, 7]) {
  test(`${n} requests: the leaked interval is the top site, live ${n}`, (t) => {
    const dir = tmpdir(t);
    const r = run(dir, REQUESTS, [String(n)]);
    assertOk(r);
    const s = r.state;
    assert.ok(s, `no state file ${r.stateFile}: ${r.what}`);
    assert.equal(s.pid, r.pid);
    assert.equal(s.complete, true, 'the exit write marks it complete');

    const top = s.sites[0];
    assert.deepEqual(
      [top.file, top.line, top.column, top.function],
      [REQUESTS, M.LEAK.line, columnOf(M.LEAK, 'setInterval'), 'handleRequest'],
      `top site:\n${show(s)}`);
    assert.equal(top.live, n);
    assert.equal(top.created, n);
    assert.equal(top.repeating, true);
    assert.equal(top.interval_ms, 1000);
    assert.equal(top.inherited, false);
    assert.equal(top.via, null);
    assert.equal(top.unrefed, 0);
    assert.ok(top.oldest_created_ms >= s.start_ms && top.oldest_created_ms <= s.time_ms);
    assert.deepEqual(top.frames.map((f) => [f.file, f.line, f.function]), [
      [REQUESTS, M.LEAK.line, 'handleRequest'],
      [REQUESTS, M.LOOP.line, '<anonymous>'],
    ], 'frames: the site, then its caller; none of node or of leaktrace.js');

    // Timers that ended: present with their creation count, none live.
    for (const [mark, word, delay] of [
      ['CLEARED_TIMEOUT', 'setTimeout', 5000], ['CLEARED_INTERVAL', 'setInterval', 250],
      ['FIRED', 'setTimeout', 1], ['SELF_CLEARED', 'setInterval', 5],
    ]) {
      const x = siteAt(s, REQUESTS, M[mark].line);
      assert.equal(x.column, columnOf(M[mark], word), mark);
      assert.equal(x.live, 0, `${mark} has no live timer:\n${show(s)}`);
      assert.equal(x.created, n, mark);
      assert.equal(x.repeating, false, mark);
      assert.equal(x.interval_ms, delay, mark);
    }

    // refresh() re-arms the same Timeout: one timer, created once.
    const refreshed = siteAt(s, REQUESTS, M.REFRESHED.line);
    assert.deepEqual([refreshed.live, refreshed.created, refreshed.repeating], [1, 1, false]);

    // The exiting timer is still in its callback when the exit write runs:
    // fired, so not live.
    const exit = siteAt(s, REQUESTS, M.EXIT.line);
    assert.deepEqual([exit.live, exit.created], [0, 1]);

    assert.equal(s.timers_created, 5 * n + 2);
    assert.equal(s.timers_live, n + 1);
    assert.equal(s.sites.length, 7, show(s));
    assert.deepEqual(s.overflow, { live: 0, created: 0 });
    assert.equal(s.gc, false);
  });
}

// With no destroy hook, the module holds a Timeout until a sweep finds it
// gone: a write, or a timer's creation once it holds twice as many as were
// live at the last sweep (64 at least). A burst of timers made and cleared
// between two writes must not stay reachable through it.
const CHURN = fixture('churn.js');
const C = markers(CHURN);

test('timers made and cleared by the thousand: counted, and not held by the module', (t) => {
  const dir = tmpdir(t);
  const n = 5000;
  const r = run(dir, CHURN, [String(n)], { nodeArgs: ['--expose-gc'], env: { LEAKTRACE_TICK_MS: '3600000' } });
  assertOk(r);
  const m = /collected (\d+)/.exec(r.stdout);
  assert.ok(m, `no count on stdout: ${r.what}`);
  const held = n - Number(m[1]);
  assert.ok(held >= 0 && held <= 64, `the module held ${held} of ${n} cleared timers through a full GC (64 at most)`);
  const s = r.state;
  const churn = siteAt(s, CHURN, C.CHURN.line);
  assert.deepEqual([churn.live, churn.created, churn.repeating], [0, n, false], show(s));
  const live = siteAt(s, CHURN, C.LIVE.line);
  assert.deepEqual([live.live, live.created, live.repeating, live.unrefed], [5, 10, true, 5], show(s));
  assert.deepEqual([s.timers_created, s.timers_live], [n + 10, 5]);
});
