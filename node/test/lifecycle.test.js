// The module's own life: its tick never shows and never keeps the process
// alive; the exit write, GC on request, snapshot(), worker threads,
// uncaught exceptions, bad settings.
'use strict';

const assert = require('node:assert/strict');
const { test } = require('node:test');
const { MODULE, assertOk, fixture, markers, run, show, siteAt, tmpdir } = require('./helpers');

const LIFE = fixture('lifecycle.js');
const M = markers(LIFE);

test('its own interval never appears, and the process exits by itself', (t) => {
  const dir = tmpdir(t);
  const t0 = Date.now();
  // A tick of 10 ms over a 300 ms run: some thirty writes.
  const r = run(dir, LIFE, ['quiet', '300'], { env: { LEAKTRACE_TICK_MS: '10' }, timeout: 20000 });
  assertOk(r);
  assert.ok(Date.now() - t0 < 10000, 'exited on its own');
  const s = r.state;
  assert.equal(s.complete, true);
  assert.equal(s.tick_ms, 10);
  assert.ok(s.timeline.length >= 5, `ticked: ${s.timeline.length} samples`);
  assert.equal(s.timers_created, 2, show(s));
  assert.ok(s.sites.every((x) => x.frames.every((f) => f.file !== MODULE)), 'no frame of leaktrace.js');
  assert.ok(s.sites.every((x) => x.via === null));
  const unrefed = siteAt(s, LIFE, M.UNREFED.line);
  assert.deepEqual([unrefed.live, unrefed.unrefed, unrefed.repeating, unrefed.interval_ms], [1, 1, true, 5]);
  // The last timer had fired (its callback returned) before the exit.
  assert.deepEqual([siteAt(s, LIFE, M.LAST.line).live, s.timers_live], [0, 1]);
});

test('a long tick does not delay the exit', (t) => {
  const dir = tmpdir(t);
  const t0 = Date.now();
  const r = run(dir, LIFE, ['quiet', '10'], { env: { LEAKTRACE_TICK_MS: '3600000' } });
  assertOk(r);
  assert.ok(Date.now() - t0 < 5000);
  assert.equal(r.state.complete, true);
});

test('LEAKTRACE_JS_GC=1: a full GC before the exit write', (t) => {
  const dir = tmpdir(t);
  const r = run(dir, LIFE, ['quiet', '10'], { env: { LEAKTRACE_JS_GC: '1' } });
  assertOk(r);
  assert.equal(r.state.gc, true);
  assert.equal(r.state.complete, true);
  const off = run(dir, LIFE, ['quiet', '10'], { env: { LEAKTRACE_JS_GC: '0' } });
  assert.equal(off.state.gc, false);
});

test('LEAKTRACE_JS_GC unset: a full GC before the exit write of a process that ran 5 ticks and called process.exit', (t) => {
  const dir = tmpdir(t);
  const short = run(dir, LIFE, ['exitcb', '10']);
  assertOk(short);
  assert.equal(short.state.gc, false, 'ended before its first tick');
  const ran = run(dir, LIFE, ['exitcb', '400'], { env: { LEAKTRACE_TICK_MS: '20' } });
  assertOk(ran);
  assert.equal(ran.state.gc, true, 'ran about 20 ticks, then process.exit');
  // Ended by itself, its event loop empty: its module's data is garbage by
  // then, and what it held through its run would be taken back.
  const natural = run(dir, LIFE, ['quiet', '400'], { env: { LEAKTRACE_TICK_MS: '20' } });
  assertOk(natural);
  assert.equal(natural.state.gc, false, 'ended by itself');
  const off = run(dir, LIFE, ['exitcb', '400'], { env: { LEAKTRACE_TICK_MS: '20', LEAKTRACE_JS_GC: '0' } });
  assert.equal(off.state.gc, false);
});

test('snapshot({gc}) writes the state at once', (t) => {
  const dir = tmpdir(t);
  const r = run(dir, LIFE, ['snapshot', '0', MODULE]);
  assertOk(r);
  const seen = JSON.parse(r.stdout);
  assert.deepEqual(seen, { file: r.stateFile, live: 3, gc: true, complete: false });
  assert.equal(siteAt(r.state, LIFE, M.SNAP_LEAK.line).live, 3);
});

test('worker threads: only the main thread writes, with its own timers', (t) => {
  const dir = tmpdir(t);
  const r = run(dir, LIFE, ['worker']);
  assertOk(r);
  const s = r.state;
  assert.deepEqual(s.sites.map((x) => x.line).sort((a, b) => a - b), [M.AFTER_WORKER.line, M.MAIN_LEAK.line], show(s));
  assert.equal(siteAt(s, LIFE, M.MAIN_LEAK.line).live, 1);
});

test('an uncaught exception: the exit write still happens', (t) => {
  const dir = tmpdir(t);
  const r = run(dir, LIFE, ['throw']);
  assert.equal(r.status, 1, r.what);
  assert.match(r.stderr, /Error: boom/);
  assert.doesNotMatch(r.stderr, /leaktrace/);
  const s = r.state;
  assert.equal(s.complete, true);
  assert.equal(siteAt(s, LIFE, M.THROW_LEAK.line).live, 1);
});

test('a one-shot timer that ends the process from its callback is not live; an interval is', (t) => {
  const dir = tmpdir(t);
  const r = run(dir, LIFE, ['exitcb']);
  assertOk(r);
  const s = r.state;
  assert.equal(s.complete, true);
  assert.deepEqual([siteAt(s, LIFE, M.EXITCB.line).live, siteAt(s, LIFE, M.EXITCB_LEAK.line).live, s.timers_live],
    [0, 1, 1], show(s));
});

test('ten exit listeners of the program: no warning, none of ours among them', (t) => {
  const dir = tmpdir(t);
  const r = run(dir, LIFE, ['listeners']);
  assertOk(r);
  assert.equal(r.stdout, 'exit listeners 10, warnings 0\n');
  assert.equal(r.stderr, '');
  assert.equal(r.state.complete, true, 'the exit write, all the same');
});

test('a bad setting: one line on stderr, the default used', (t) => {
  const dir = tmpdir(t);
  const r = run(dir, LIFE, ['quiet', '10'], { env: { LEAKTRACE_TICK_MS: 'soon' } });
  assertOk(r);
  assert.equal(r.stderr, 'leaktrace: ignoring LEAKTRACE_TICK_MS=soon: bad value, default used\n');
  assert.equal(r.state.tick_ms, 1000);
  const quiet = run(dir, LIFE, ['quiet', '10'], { env: { LEAKTRACE_TICK_MS: 'soon', LEAKTRACE_QUIET: '1' } });
  assert.equal(quiet.stderr, '');
});

test('an unwritable directory: one line on stderr, the program runs on', (t) => {
  const dir = tmpdir(t);
  const r = run(dir, LIFE, ['quiet', '50'], { stem: `${dir}/missing/dir/state`, env: { LEAKTRACE_TICK_MS: '10' } });
  assertOk(r);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0], /^leaktrace: cannot write .*missing\/dir\/state\.js\.json: .*ENOENT/);
});
