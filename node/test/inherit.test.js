// Trigger inheritance without jsdom: a timer that re-arms itself from its
// own callback forever leaves one live timer per chain, and each one is
// reported at the site of the chain's first timer, the application's line.
'use strict';

const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { test } = require('node:test');
const { assertOk, fixture, markers, run, show, siteAt, tmpdir } = require('./helpers');

const REARM = fixture('rearm.js');
const LIB = fixture('rearm-lib.js');
const M = markers(REARM);
const L = markers(LIB);
const CHAINS = 4;

/** Installs the helper library as <dir>/node_modules/rearm, as a package would be. */
function installLib(dir) {
  const at = path.join(dir, 'node_modules', 'rearm');
  fs.mkdirSync(at, { recursive: true });
  fs.copyFileSync(LIB, path.join(at, 'index.js'));
  return path.join(at, 'index.js');
}

/** The live chains: one inherited site holding every live timer (the one that ends the process, firing, is none). */
function liveChains(s, line) {
  const x = siteAt(s, REARM, line, true);
  assert.equal(s.sites[0], x, `the chains come first:\n${show(s)}`);
  assert.equal(x.live, CHAINS, show(s));
  assert.equal(x.repeating, true, 're-armed from its own callback: repeating');
  assert.equal(x.interval_ms, 10);
  assert.ok(x.created >= CHAINS, `the chains re-armed: created ${x.created}`);
  assert.ok(x.oldest_created_ms <= s.time_ms - 200, 'the age is that of the chain, not of its newest link');
  assert.equal(s.timers_live, CHAINS, show(s));
  return x;
}

test('re-arming helper in the application: live at the chain\'s first line', (t) => {
  const dir = tmpdir(t);
  const r = run(dir, REARM, [String(CHAINS), 'app']);
  assertOk(r);
  const s = r.state;
  const x = liveChains(s, M.FIRST.line);
  assert.equal(x.function, 'every');
  assert.deepEqual([x.via.file, x.via.line], [REARM, M.REARM.line], 'the immediate site is kept');
  assert.deepEqual(x.frames.map((f) => f.line), [M.FIRST.line, M.START.line, M.START.line + 3],
    'the root\'s frames: every, render, the loop');
  // The first timers themselves fired long ago.
  assert.deepEqual([siteAt(s, REARM, M.FIRST.line).live, siteAt(s, REARM, M.FIRST.line).created], [0, CHAINS]);
});

for (const mode of ['lib', 'promise']) {
  test(`re-arming library (${mode === 'lib' ? 'from the timer callback' : 'from a promise callback'}): live at the application line`, (t) => {
    const dir = tmpdir(t);
    const lib = installLib(dir);
    const r = run(dir, REARM, [String(CHAINS), mode, path.dirname(lib)]);
    assertOk(r);
    const s = r.state;
    const x = liveChains(s, M.START.line);
    assert.equal(x.function, 'render');
    const rearm = mode === 'lib' ? L.LIB_REARM.line : L.LIB_ARM.line;
    assert.deepEqual([x.via.file, x.via.line], [lib, rearm], 'the immediate site is the library\'s');
    assert.equal(x.frames[0].file, lib, 'the library frames stay in the list, above the site');
    assert.ok(x.frames.some((f) => f.file === REARM && f.line === M.START.line));
    assert.ok(!x.frames.some((f) => f.file.startsWith('node:')), 'no frame of node');
  });
}

test('a timer armed in a callback at an application line of its own keeps its site', (t) => {
  const dir = tmpdir(t);
  const NESTED = fixture('nested.js');
  const N = markers(NESTED);
  const r = run(dir, NESTED);
  assertOk(r);
  const s = r.state;
  assert.ok(s.sites.every((x) => !x.inherited), show(s));
  const x = siteAt(s, NESTED, N.NESTED.line);
  assert.deepEqual([x.live, x.created, x.repeating, x.function], [3, 3, true, 'boot']);
  assert.equal(s.sites[0], x);
});
