// What the install and package tests share: a leaktrace that is not the
// build tree's (an install tree, the Debian package) must find its own
// preload and node module, and report a native leak and a JS timer leak
// exactly as the build tree's does.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  BUILD, assertLeak, assertStatus, cleanEnv, describeTimers, extractReport, frameAt, inModule, markers, prog, run,
  siteAt, src, tmpdir, traceFiles,
} from './lib.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const REQUESTS_JS = path.join(ROOT, 'tests', 'fixtures', 'js', 'requests.js');
const LEAKY = prog('leaky');
const LEAKLIB = prog('libleaklib.so');
const LEAKY_C = src('leaky.c');

/** The files under dir, relative to it, sorted; directories left out. */
export function filesUnder(dir) {
  return fs.readdirSync(dir, { recursive: true })
    .filter((f) => fs.lstatSync(path.join(dir, f)).isFile())
    .sort();
}

/**
 * The man pages the build installs (LT_MAN_PAGES in the top-level
 * CMakeLists.txt), as manN/NAME.N under the man directory.
 */
export function manPages() {
  return fs.readFileSync(path.join(BUILD, 'tests', 'man_pages.txt'), 'utf8').split('\n').filter(Boolean);
}

/**
 * `leaktrace run` of a shell that prints LD_PRELOAD: the preload this
 * leaktrace found must be `preload`.
 */
export function assertFindsPreload(t, leaktrace, preload) {
  const dir = tmpdir(t);
  const r = run(leaktrace, ['run', '-o', dir, '--no-report', '--', '/bin/sh', '-c', 'printf %s "$LD_PRELOAD"'],
    { env: cleanEnv(), cwd: dir });
  assertStatus(r);
  assert.equal(r.stdout, preload, `${leaktrace} preloads ${preload}`);
}

/**
 * leaky (tests/programs/leaky.c) under `leaktrace run`: the report of two of
 * its leaks, exact, at their lines, and its exit status passed through.
 */
export function assertNativeLeaks(t, leaktrace) {
  const dir = tmpdir(t);
  const r = run(leaktrace, ['run', '-o', dir, '--format', 'json', '--top', '0', '--', LEAKY, LEAKLIB],
    { env: cleanEnv(), cwd: dir });
  assertStatus(r);
  assert.match(r.stdout, /^leaky: \d+ blocks kept\n/, 'leaky ran as without the tracer');
  const rep = extractReport(r.stderr);
  assert.deepEqual(rep.process.command, [LEAKY, LEAKLIB], 'command');
  assert.equal(rep.process.complete, true, 'a clean exit is complete');
  assert.deepEqual(traceFiles(dir), [`leaktrace.${rep.process.pid}.lt`], 'one trace file, leaky\'s');
  const marks = markers(LEAKY_C).LEAK;
  for (const [name, fn, blocks, size] of [['loop', 'leak_loop', 10, 100], ['calloc', 'leak_calloc', 1, 25 * 8]]) {
    const site = siteAt(rep, LEAKY_C, marks[name]);
    assertLeak(site, blocks, size, `leak ${name}`);
    assert.equal(site.frames[0].function, fn, `leak ${name}: first frame's function`);
    assert.ok(inModule(site.frames[0], LEAKY), `leak ${name}: first frame's module ${site.frames[0].module}`);
    assert.equal(site.frames[1].function, 'main', `leak ${name}: the caller's frame`);
  }
}

/**
 * node tests/fixtures/js/requests.js 5 under `leaktrace run`: the preload
 * must have found node/leaktrace.js at `module` (node's --require names it)
 * and the report must give the 5 intervals never cleared, at their line.
 */
export function assertJsTimers(t, leaktrace, module) {
  const probe = run(leaktrace, ['run', '-o', tmpdir(t), '--no-report', '--no-js-frames', '--', process.execPath, '-e',
    'process.stdout.write(process.env.NODE_OPTIONS || "")'], { env: cleanEnv() });
  assertStatus(probe);
  const req = /--require "([^"]+)"/.exec(probe.stdout);
  assert.ok(req, `the preload gave node a --require: NODE_OPTIONS=${probe.stdout}\n${probe.stderr}`);
  assert.equal(path.resolve(req[1]), module, 'the node module beside this preload');

  const dir = tmpdir(t);
  const r = run(leaktrace, ['run', '-o', dir, '--format', 'json', '--', process.execPath, REQUESTS_JS, '5'],
    { env: cleanEnv(), cwd: dir });
  assertStatus(r);
  assert.equal(r.stdout, 'served 5\n', 'the script ran as without the tracer');
  const rep = extractReport(r.stderr);
  assert.ok(fs.existsSync(path.join(dir, `leaktrace.${rep.process.pid}.js.json`)),
    `leaktrace.js wrote its state beside the trace: ${fs.readdirSync(dir)}`);
  const shown = describeTimers(rep.timers);
  assert.equal(rep.timers.length, 1, `one live timer site:\n${shown}`);
  const [tm] = rep.timers;
  assert.ok(frameAt(tm.frames[0], REQUESTS_JS, markers(REQUESTS_JS).LEAK.interval),
    `at the setInterval never cleared:\n${shown}`);
  assert.equal(tm.frames[0].function, 'handleRequest');
  assert.deepEqual({ kind: tm.kind, live: tm.live, created: tm.created, repeating: tm.repeating },
    { kind: 'js', live: 5, created: 5, repeating: true }, `figures:\n${shown}`);
}
