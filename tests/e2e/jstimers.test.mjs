// JS timers: node scripts (tests/fixtures/js/) run under `leaktrace run`,
// which preloads libleaktrace.so; the preload has node load
// node/leaktrace.js, which writes leaktrace.<pid>.js.json beside the trace;
// the report merges its timers as kind "js". The leak the project was born
// from, a setInterval run once per request and never cleared, must come
// first at its line, with one live timer per request; timers that were
// cleared or fired must not be there. The same through jsdom, whose
// window.setInterval re-arms a fresh node timer from each tick.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  BUILD, LEAKTRACE, assertStatus, cleanEnv, describeTimers, extractReport, frameAt, header, markers, report, run,
  tmpdir, traceFiles, tracedEnv,
} from './lib.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const FIXTURES = path.join(ROOT, 'tests', 'fixtures', 'js');
const REQUESTS_JS = path.join(FIXTURES, 'requests.js');
const JSDOM_JS = path.join(FIXTURES, 'jsdom.js');
// jsdom, pinned by the JS module's own test fixtures (package.json and lock).
const JSDOM_DIR = path.join(ROOT, 'node', 'test', 'fixtures');
const NODE = process.execPath;

function line(file, kind, name) {
  const n = markers(file)[kind]?.[name];
  assert.ok(n, `${path.basename(file)} has no ${kind}: ${name} marker`);
  return n;
}

/** `leaktrace run --format json -- node SCRIPT ARGS` in a fresh directory: the run, its report, its files. */
function runNode(t, script, args) {
  const dir = tmpdir(t);
  const r = run(LEAKTRACE, ['run', '-o', dir, '--format', 'json', '--', NODE, script, ...args],
    { env: cleanEnv(), cwd: dir, timeout: 60000 });
  assertStatus(r);
  const rep = extractReport(r.stderr);
  const pid = rep.process.pid;
  assert.deepEqual(traceFiles(dir), [`leaktrace.${pid}.lt`], 'one trace file, node\'s');
  assert.ok(fs.existsSync(path.join(dir, `leaktrace.${pid}.js.json`)),
    `leaktrace.js wrote its state beside the trace: ${fs.readdirSync(dir)}`);
  return { r, rep, dir, trace: path.join(dir, `leaktrace.${pid}.lt`) };
}

/** Asserts that `timers` is exactly one JS site, at file:line, with these figures. */
function assertOnlyLeak(timers, file, at, fn, want, what) {
  const shown = describeTimers(timers);
  assert.equal(timers.length, 1, `${what}: one live timer site, no other:\n${shown}`);
  const [tm] = timers;
  assert.ok(frameAt(tm.frames[0], file, at), `${what}: first frame at ${path.basename(file)}:${at}:\n${shown}`);
  assert.equal(tm.frames[0].function, fn, `${what}: the function that made them`);
  assert.ok(Number.isSafeInteger(tm.frames[0].column) && tm.frames[0].column > 0, `${what}: a column`);
  const { oldest_age_s, frames, ...figures } = tm;
  assert.deepEqual(figures, { kind: 'js', ...want }, `${what}: figures`);
  assert.ok(oldest_age_s >= 0 && oldest_age_s < 30, `${what}: oldest_age_s ${oldest_age_s}`);
}

test('setInterval once per request, never cleared: first, one live timer per request', (t) => {
  const { r, rep, trace, dir } = runNode(t, REQUESTS_JS, ['25']);
  assert.equal(r.stdout, 'served 25\n', 'the script ran as without the tracer');
  assert.equal(rep.process.complete, true);
  const want = { live: 25, created: 25, repeating: true, interval_ns: 1000 * 1e6 };
  assertOnlyLeak(rep.timers, REQUESTS_JS, line(REQUESTS_JS, 'LEAK', 'interval'), 'handleRequest', want,
    'leaktrace run');

  // leaktrace report of the file finds the state beside it too.
  const again = report([trace]);
  assert.deepEqual(again.timers, rep.timers, 'report FILE: the same timers');

  // Without the state, no JS timers and no warning; with a damaged one, one
  // warning naming it, and the rest of the report all the same.
  const state = path.join(dir, `leaktrace.${rep.process.pid}.js.json`);
  fs.renameSync(state, `${state}.saved`);
  const without = run(LEAKTRACE, ['report', '--format', 'json', trace]);
  assertStatus(without);
  assert.equal(without.stderr, '', 'no state file: nothing said');
  assert.deepEqual(JSON.parse(without.stdout).timers, [], 'no state file: no JS timers');
  fs.writeFileSync(state, '{"tool":"leaktrace-js","version":1,"pid":');
  const damaged = run(LEAKTRACE, ['report', '--format', 'json', trace]);
  assertStatus(damaged);
  assert.match(damaged.stderr, new RegExp(`^leaktrace: warning: ${state.replace(/[.]/g, '\\.')}: not valid JSON[^\n]*\n$`),
    'a damaged state file: one warning naming it');
  assert.deepEqual(JSON.parse(damaged.stdout).timers, [], 'a damaged state file: no JS timers');
  assert.deepEqual(JSON.parse(damaged.stdout).sites, JSON.parse(without.stdout).sites, 'the allocation sites as without it');
});

test('the live count follows the number of requests', (t) => {
  const { r, rep } = runNode(t, REQUESTS_JS, ['7']);
  assert.equal(r.stdout, 'served 7\n');
  assertOnlyLeak(rep.timers, REQUESTS_JS, line(REQUESTS_JS, 'LEAK', 'interval'), 'handleRequest',
    { live: 7, created: 7, repeating: true, interval_ns: 1000 * 1e6 }, '7 requests');
});

test('text report: the live timers section names the line', (t) => {
  const dir = tmpdir(t);
  const r = run(LEAKTRACE, ['run', '-o', dir, '--', NODE, REQUESTS_JS, '3'], { env: cleanEnv(), cwd: dir });
  assertStatus(r);
  const at = line(REQUESTS_JS, 'LEAK', 'interval');
  assert.match(r.stderr, /\ntimer #1: js, 3 live of 3 created, repeating every 1000 ms, oldest [\d.]+ s\n/, r.stderr);
  assert.ok(r.stderr.includes(`  #0 handleRequest (${REQUESTS_JS}:${at}:`), r.stderr);
});

/** `sh -c 'exec node ...'` under leaktrace run, with the given --follow. */
function shellExecsNode(t, follow) {
  const dir = tmpdir(t);
  const r = run(LEAKTRACE, ['run', '-o', dir, ...follow, '--format', 'json', '--', '/bin/sh', '-c',
    `exec "${NODE}" "${REQUESTS_JS}" 4`], { env: cleanEnv(), cwd: dir });
  assertStatus(r);
  assert.equal(r.stdout, 'served 4\n');
  const rep = extractReport(r.stderr);
  assert.deepEqual(rep.process.command, [NODE, REQUESTS_JS, '4'], 'run reports the last image');
  assertOnlyLeak(rep.timers, REQUESTS_JS, line(REQUESTS_JS, 'LEAK', 'interval'), 'handleRequest',
    { live: 4, created: 4, repeating: true, interval_ns: 1000 * 1e6 }, 'exec\'d node');
  return { dir, r, pid: rep.process.pid };
}

test('node exec\'d by a shell: the shell only starts it, so only node is traced', (t) => {
  const { dir, r, pid } = shellExecsNode(t, []);
  assert.deepEqual(traceFiles(dir), [`leaktrace.${pid}.lt`], 'node alone');
  assert.ok(fs.existsSync(path.join(dir, `leaktrace.${pid}.js.json`)), `${fs.readdirSync(dir)}`);
  assert.match(r.stderr, /only starts other programs: not traced/);
});

test('--follow all: the shell too; node\'s image is leaktrace.<pid>.2.lt, its state merged into its report', (t) => {
  const { dir, pid } = shellExecsNode(t, ['--follow', 'all']);
  assert.deepEqual(traceFiles(dir), [`leaktrace.${pid}.lt`, `leaktrace.${pid}.2.lt`], 'the shell, then node');
  assert.ok(fs.existsSync(path.join(dir, `leaktrace.${pid}.2.js.json`)), `${fs.readdirSync(dir)}`);
  assert.deepEqual(report([path.join(dir, `leaktrace.${pid}.lt`)]).timers, [], 'the shell had none');
});

/** jsdom from node/test/fixtures, installed from its lock file when missing. */
function jsdomInstalled() {
  if (fs.existsSync(path.join(JSDOM_DIR, 'node_modules', 'jsdom', 'package.json'))) return;
  const npm = run('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error'],
    { cwd: JSDOM_DIR, timeout: 300000, env: cleanEnv() });
  assertStatus(npm);
}

test('jsdom: window.setInterval never cleared is the application line that called it', (t) => {
  jsdomInstalled();
  const { r, rep } = runNode(t, JSDOM_JS, [JSDOM_DIR, '5']);
  assert.match(r.stdout, /^rendered 5 pages, \d+ bytes\n$/);
  assertOnlyLeak(rep.timers, JSDOM_JS, line(JSDOM_JS, 'LEAK', 'window_interval'), 'componentWillMount',
    { live: 5, created: rep.timers[0]?.created, repeating: true, interval_ns: 20 * 1e6 }, 'jsdom');
  // One timer per window at a time: the first, then one per tick.
  assert.ok(rep.timers[0].created > 5, `re-armed at every tick: ${rep.timers[0].created} created`);
  // jsdom's own frames are kept below the application's.
  assert.ok(rep.timers[0].frames.slice(1).some((f) => f.file && f.file.includes('/node_modules/jsdom/')),
    `jsdom's frames below it:\n${JSON.stringify(rep.timers[0].frames, null, 1)}`);
});

test('the preload finds the module in the build tree', () => {
  assert.ok(fs.existsSync(path.join(BUILD, 'node', 'leaktrace.js')), 'build/node/leaktrace.js');
});

// An http server arms node's own connection check (every 30 s) with only
// node's frames on its stack: listed, marked node's own, and neither a
// SARIF result nor counted by check --max-live-timers.
test('node\'s own timers (an http server\'s connection check): listed as such, not counted by check', (t) => {
  const dir = tmpdir(t);
  const script = "const http = require('http');" +
    "const s = http.createServer((q, r) => r.end('ok')).listen(0, '127.0.0.1', () => {" +
    "  http.get({ port: s.address().port, host: '127.0.0.1', agent: false }, (res) => {" +
    "    res.resume(); res.on('end', () => process.exit(0)); }); });";
  const r = run(LEAKTRACE, ['run', '-o', dir, '--no-report', '--', NODE, '-e', script], { env: cleanEnv(), cwd: dir });
  assertStatus(r);
  const [file] = traceFiles(dir).map((f) => path.join(dir, f));
  const { pid } = header(file);
  t.after(() => fs.rmSync(`/tmp/perf-${pid}.map`, { force: true }));
  const text = run(LEAKTRACE, ['report', file]);
  assertStatus(text);
  assert.match(text.stdout, /\ntimer #\d+: js, 1 live of 1 created, repeating every 30000 ms, oldest [\d.]+ s \(node's own: not the program's to clear\)\n  #0 setupConnectionsTracking \(node:_http_server:/);
  const sarif = JSON.parse(run(LEAKTRACE, ['report', '--format', 'sarif', file]).stdout);
  assert.deepEqual(sarif.runs[0].results.filter((x) => x.ruleId === 'timer-leak'), [], 'no timer-leak result for node\'s own');
  const check = run(LEAKTRACE, ['check', '--max-live-timers', '0', file]);
  const mine = check.stdout.split('\n').filter((l) => / live js timer at /.test(l));
  assert.ok(mine.every((l) => !l.includes('node:')), `only the program's timers counted:\n${check.stdout}`);
});

test('diff of two runs: the JS timers that one more left live, at their line', (t) => {
  const few = runNode(t, REQUESTS_JS, ['5']), many = runNode(t, REQUESTS_JS, ['25']);
  const at = `${REQUESTS_JS}:${line(REQUESTS_JS, 'LEAK', 'interval')}`;
  const d = run(LEAKTRACE, ['diff', few.trace, many.trace]);
  assertStatus(d);
  assert.match(d.stdout, new RegExp(`\ntimers: 5 -> 25 live \\(\\+20\\)\n  \\+20 live js timers at ${at.replace(/[.]/g, '\\.')}:\\d+ \\(handleRequest\\) \\(5 -> 25\\)\n`));
  const j = JSON.parse(run(LEAKTRACE, ['diff', '--format', 'json', few.trace, many.trace]).stdout).diff.timers;
  assert.deepEqual([j.live_before, j.live_after, j.sites.length], [5, 25, 1]);
  assert.deepEqual([j.sites[0].kind, j.sites[0].live_before, j.sites[0].live_after, j.sites[0].live_delta], ['js', 5, 25, 20]);
  // A file against itself: no timer changed.
  assert.equal(JSON.parse(run(LEAKTRACE, ['diff', '--format', 'json', few.trace, few.trace]).stdout).diff.timers.sites.length, 0);
});

test('diff of two versions of the code, every line moved by an edit: the same sites, matched', (t) => {
  // One path, two versions: the fix of a leak often adds lines above it.
  const app = path.join(tmpdir(t), 'app.js');
  const source = fs.readFileSync(REQUESTS_JS, 'utf8');
  fs.writeFileSync(app, source);
  const before = runNode(t, app, ['5']);
  fs.writeFileSync(app, '// an edit\n// of three\n// lines\n' + source);
  const after = runNode(t, app, ['25']);
  const j = JSON.parse(run(LEAKTRACE, ['diff', '--format', 'json', before.trace, after.trace]).stdout).diff;
  assert.deepEqual(j.timers.sites.map((x) => [x.kind, x.live_before, x.live_after]), [['js', 5, 25]], JSON.stringify(j.timers));
  const text = run(LEAKTRACE, ['diff', before.trace, after.trace]);
  assert.match(text.stdout, new RegExp(`\n  \\+20 live js timers at ${app.replace(/[.]/g, '\\.')}:${line(REQUESTS_JS, 'LEAK', 'interval')}:\\d+ \\(handleRequest\\) \\(5 -> 25\\)\n`),
    'said at the line of the first file');
});

test('an ES module\'s timers: named by its path, not its file:// URL', (t) => {
  const ESM_JS = path.join(FIXTURES, 'esmtimers.mjs');
  const { rep } = runNode(t, ESM_JS, []);
  assertOnlyLeak(rep.timers, ESM_JS, line(ESM_JS, 'LEAK', 'esm'), 'poll',
    { live: 4, created: 4, repeating: true, interval_ns: 60000 * 1e6 }, 'ES module');
  assert.equal(rep.timers[0].frames[0].file, ESM_JS);
});

test('started paused: the JS timers made before `ctl start` are not followed, those after are', async (t) => {
  const PAUSED_JS = path.join(FIXTURES, 'paused.js');
  const dir = tmpdir(t);
  const child = spawn(NODE, [PAUSED_JS], {
    env: tracedEnv(dir, { LEAKTRACE_START: 'paused', LEAKTRACE_TICK_MS: '5000' }), cwd: dir, stdio: ['pipe', 'pipe', 'pipe'],
  });
  const killer = setTimeout(() => child.kill('SIGKILL'), 30000);
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  for await (const text of readline.createInterface({ input: child.stdout })) {
    if (text === 'ready') {
      // Returns once the module follows timers: those made at once are seen.
      const ctl = run(LEAKTRACE, ['ctl', String(child.pid), 'start']);
      assertStatus(ctl);
      assert.equal(ctl.stderr, '');
      child.stdin.write('\n');
    } else if (text === 'armed') {
      child.stdin.write('\n');
    }
  }
  assert.equal(await exited, 0, stderr);
  clearTimeout(killer);
  const rep = report([path.join(dir, `leaktrace.${child.pid}.lt`)]);
  const js = rep.timers.filter((x) => x.kind === 'js');
  assertOnlyLeak(js, PAUSED_JS, line(PAUSED_JS, 'AFTER', 'interval'), 'after',
    { live: 3, created: 3, repeating: true, interval_ns: 60000 * 1e6 }, 'after ctl start');
});

test('what V8 allocates for the module\'s stack captures is not recorded: a timer costs no more allocations', (t) => {
  const MANY_JS = path.join(FIXTURES, 'manytimers.js');
  const allocations = (env) => {
    const dir = tmpdir(t);
    const r = run(LEAKTRACE, ['run', '-o', dir, '--format', 'json', '--', NODE, MANY_JS, '5000'],
      { env: cleanEnv(env), cwd: dir, timeout: 60000 });
    assertStatus(r);
    assert.equal(r.stdout, 'made 5000; busy mark in the environment: false\n');
    return extractReport(r.stderr).summary.allocations;
  };
  const withModule = allocations({}), without = allocations({ LEAKTRACE_JS: '0' });
  // Without the mark, each capture recorded some 70 blocks of V8's (4x the
  // allocations of the whole run); with it, a few more than without the module.
  assert.ok(withModule < 1.3 * without, `${withModule} allocations with the module, ${without} without`);
});

test('memory of the program\'s listeners, which run under the module\'s process.emit, is the program\'s', (t) => {
  const LISTENERS_JS = path.join(FIXTURES, 'listeners.js');
  const { r, rep, trace } = runNode(t, LISTENERS_JS, ['2000']);
  assert.equal(r.stdout, 'kept 2000\n');
  const at = line(LISTENERS_JS, 'FUNCTION', 'grow');
  // At grow's line, or, where V8 inlined grow into the loop, the script's.
  const mine = rep.sites.filter((s) => s.frames.some((f) => f.js && f.file === LISTENERS_JS));
  const bytes = mine.reduce((sum, s) => sum + s.live_bytes, 0);
  assert.ok(bytes >= 2000 * 4096, `the 2000 Buffers are the script's: ${bytes} bytes in ${mine.length} sites`);
  assert.ok(mine.some((s) => s.live_bytes >= 1000 * 4096 && s.frames.some((f) => frameAt(f, LISTENERS_JS, at))),
    `most of them at grow, listeners.js:${at}`);
  // Not taken for the module's own bookkeeping, which the text report counts apart.
  const text = run(LEAKTRACE, ['report', trace]);
  assertStatus(text);
  const own = /\ntracer: (.*) in (\d+) blocks allocated by leaktrace's node module/.exec(text.stdout);
  assert.ok(!own || Number(own[2]) < 1000, `the module's own: ${own?.[0]}`);
});
