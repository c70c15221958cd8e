// When the module must stay out, it does nothing at all: no hooks, no exit
// watch, no file. And when it is at work, the program's output is the same.
'use strict';

const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { test } = require('node:test');
const { MODULE, assertOk, fixture, markers, run, siteAt, tmpdir } = require('./helpers');

const PROBE = fixture('probe.js');

function probe(dir, opts) {
  const r = run(dir, PROBE, [MODULE], { nodeArgs: ['--expose-internals'], ...opts });
  assertOk(r);
  return { r, seen: JSON.parse(r.stdout) };
}

function assertInactive(dir, { r, seen }) {
  assert.deepEqual(seen, { hooks: false, exitListeners: 0, emitWatched: false, stateFile: null, snapshot: null }, r.what);
  assert.deepEqual(fs.readdirSync(dir), [], 'no file written');
  assert.equal(r.stderr, '');
}

test('active: hooks, process.emit watched for the exit (no listener of its own), a state file', (t) => {
  const dir = tmpdir(t);
  const { r, seen } = probe(dir);
  assert.equal(seen.hooks, true);
  assert.equal(seen.exitListeners, 0);
  assert.equal(seen.emitWatched, true);
  assert.equal(seen.stateFile, r.stateFile);
  assert.equal(seen.snapshot, r.stateFile);
  assert.equal(r.state.complete, true);
  assert.deepEqual(fs.readdirSync(dir), [path.basename(r.stateFile)], 'only the state file, no temporary left');
});

test('no LEAKTRACE_JS_STATE: nothing', (t) => {
  const dir = tmpdir(t);
  assertInactive(dir, probe(dir, { stem: null }));
});

test('LEAKTRACE_JS_STATE naming another pid (inherited by an untraced child): nothing', (t) => {
  const dir = tmpdir(t);
  for (const name of [`leaktrace.${process.pid}`, `leaktrace.${process.pid}.2`])
    assertInactive(dir, probe(dir, { stem: path.join(dir, name) }));
});

test('LEAKTRACE_JS=0: nothing', (t) => {
  const dir = tmpdir(t);
  assertInactive(dir, probe(dir, { env: { LEAKTRACE_JS: '0' } }));
});

test('a stem set by hand, without a pid, is taken as it is', (t) => {
  const dir = tmpdir(t);
  const stem = path.join(dir, 'by-hand');
  const { seen } = probe(dir, { stem });
  assert.equal(seen.stateFile, `${stem}.js.json`);
  assert.deepEqual(fs.readdirSync(dir), ['by-hand.js.json']);
});

test('the program\'s output is the same with and without the module', (t) => {
  const dir = tmpdir(t);
  const OUTPUT = fixture('output.js');
  const plain = run(dir, OUTPUT, [], { module: false, stem: null });
  assertOk(plain);
  const traced = run(dir, OUTPUT, []);
  assertOk(traced);
  assert.ok(plain.stdout.includes('custom deep: deep,deep,deep'), plain.stdout);
  assert.equal(traced.stdout, plain.stdout);
  assert.equal(traced.stderr, plain.stderr);
  // And the module saw the leak through the program's own prepareStackTrace.
  const x = siteAt(traced.state, OUTPUT, markers(OUTPUT).LEAK.line);
  assert.deepEqual([x.created, x.live], [1, 0]);
});
