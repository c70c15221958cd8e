// The seed case with a real jsdom: window.setInterval, called during a
// server-side render and never cleared. jsdom arms a fresh node setTimeout
// at every tick, from inside the previous one's callback, so no live timer
// was made by the application's code; inheritance carries the application's
// line down the chain.
//
// jsdom is pinned in fixtures/package-lock.json; it is installed with
// `npm ci` when fixtures/node_modules is missing (the npm registry must be
// reachable then; afterwards the test runs offline).
'use strict';

const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { test } = require('node:test');
const { FIXTURES, assertOk, columnOf, fixture, markers, run, show, siteAt, tmpdir } = require('./helpers');

const RENDER = fixture('jsdom-render.js');
const M = markers(RENDER);
const N = 6;

function ensureJsdom() {
  const pinned = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'package.json'), 'utf8')).dependencies.jsdom;
  const installed = path.join(FIXTURES, 'node_modules', 'jsdom', 'package.json');
  if (fs.existsSync(installed) && JSON.parse(fs.readFileSync(installed, 'utf8')).version === pinned) return;
  const npm = path.join(path.dirname(process.execPath), 'npm');
  const r = spawnSync(fs.existsSync(npm) ? npm : 'npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error'], {
    cwd: FIXTURES, encoding: 'utf8', timeout: 240000,
  });
  assert.equal(r.status, 0, `npm ci in ${FIXTURES} failed (is the npm registry reachable?):\n${r.stderr}${r.error || ''}`);
}

test('jsdom window.setInterval never cleared: the application line, live N', { timeout: 300000 }, (t) => {
  ensureJsdom();
  const dir = tmpdir(t);
  const r = run(dir, RENDER, [String(N)], { timeout: 60000 });
  assertOk(r);
  const s = r.state;
  assert.ok(s, r.what);

  const top = s.sites[0];
  assert.deepEqual([top.file, top.line, top.function], [RENDER, M.LEAK.line, 'componentWillMount'],
    `top site:\n${show(s)}`);
  assert.equal(top.column, columnOf(M.LEAK, 'setInterval'));
  assert.equal(top.live, N);
  assert.equal(top.inherited, true);
  assert.equal(top.repeating, true, 'jsdom re-arms from the same line: a repeating chain');
  assert.equal(top.interval_ms, 20);
  assert.ok(top.created >= N, `the chains ticked: created ${top.created}`);
  assert.match(top.via.file, /node_modules\/jsdom\//, 'the immediate site is jsdom\'s');
  assert.match(top.frames[0].file, /node_modules\/jsdom\//, 'jsdom\'s frames stay above the site');
  assert.ok(top.frames.some((f) => f.file === RENDER && f.line === M.LEAK.line));

  // The first timer of each chain, made by the application's call, fired.
  const first = siteAt(s, RENDER, M.LEAK.line, false);
  assert.deepEqual([first.live, first.created], [0, N]);
  // The cleared interval leaves nothing live, at any site reached from its line.
  for (const x of s.sites.filter((y) => y.file === RENDER && y.line === M.CLEARED.line))
    assert.equal(x.live, 0, show(s));
  // Live: the N chains (the exiting timer, firing, is not); jsdom itself keeps none.
  assert.equal(s.timers_live, N, show(s));
});
