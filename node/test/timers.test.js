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

    // The exiting timer is still in its callback when the exit write runs.
    const exit = siteAt(s, REQUESTS, M.EXIT.line);
    assert.deepEqual([exit.live, exit.created], [1, 1]);

    assert.equal(s.timers_created, 5 * n + 2);
    assert.equal(s.timers_live, n + 2);
    assert.equal(s.sites.length, 7, show(s));
    assert.deepEqual(s.overflow, { live: 0, created: 0 });
    assert.equal(s.gc, false);
  });
}
