// What the JS timer tests share: running a fixture under leaktrace.js the
// way the preload would (LEAKTRACE_JS_STATE=<dir>/leaktrace.<its own pid>),
// reading its state file, and finding the marked lines of the fixtures.
//
// Not a test file: ctest runs the *.test.js files by name.
'use strict';

const assert = require('node:assert/strict');
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const MODULE = path.resolve(__dirname, '..', 'leaktrace.js');
const FIXTURES = path.join(__dirname, 'fixtures');
const NODE = process.execPath;

/** A fixture's absolute path. */
const fixture = (name) => path.join(FIXTURES, name);

/** A fresh directory, removed when the test ends. */
function tmpdir(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'leaktrace-js-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** The environment without anything that would steer leaktrace. */
function cleanEnv(extra = {}) {
  const env = {};
  for (const [k, v] of Object.entries(process.env))
    if (!k.startsWith('LEAKTRACE_') && k !== 'NODE_OPTIONS' && k !== 'LD_PRELOAD') env[k] = v;
  return { ...env, ...extra };
}

/*
 * The command line that runs `node [nodeArgs] script args` with the module
 * required and, unless `stem` is given, LEAKTRACE_JS_STATE naming the
 * process's own pid: the shell sets it from $$ and execs node, which keeps
 * that pid, as the preload does.
 */
function command(dir, script, args = [], { stem, nodeArgs = [], module = true } = {}) {
  const node = [NODE, ...(module ? ['--require', MODULE] : []), ...nodeArgs, script, ...args];
  if (stem !== undefined) return { file: node[0], args: node.slice(1), stemEnv: stem === null ? {} : { LEAKTRACE_JS_STATE: stem } };
  return {
    file: '/bin/sh',
    args: ['-c', 'LEAKTRACE_JS_STATE="$LT_TEST_DIR/leaktrace.$$"; export LEAKTRACE_JS_STATE; exec "$@"', 'sh', ...node],
    stemEnv: { LT_TEST_DIR: dir },
  };
}

/**
 * Runs a fixture to its end. Returns spawnSync's result with `state` (the
 * parsed state file, or null when there is none), `stateFile`, and `what`
 * for assertion messages.
 */
function run(dir, script, args = [], opts = {}) {
  const { env = {}, timeout = 30000 } = opts;
  const c = command(dir, script, args, opts);
  const r = spawnSync(c.file, c.args, {
    env: cleanEnv({ ...c.stemEnv, ...env }), cwd: dir, encoding: 'utf8', timeout, killSignal: 'SIGKILL',
  });
  if (r.error && r.error.code !== 'ETIMEDOUT') throw r.error;
  r.stateFile = path.join(dir, `leaktrace.${r.pid}.js.json`);
  r.state = fs.existsSync(r.stateFile) ? readState(r.stateFile) : null;
  r.what = `${script} ${args.join(' ')}: status ${r.status} signal ${r.signal}` +
    `${r.error ? ` (${r.error.code})` : ''}\n  stderr: ${r.stderr || '(empty)'}`;
  return r;
}

/** Starts a fixture in the background; the caller ends it. */
function start(dir, script, args = [], opts = {}) {
  const c = command(dir, script, args, opts);
  const child = spawn(c.file, c.args, { env: cleanEnv({ ...c.stemEnv, ...(opts.env || {}) }), cwd: dir });
  child.stateFile = path.join(dir, `leaktrace.${child.pid}.js.json`);
  return child;
}

/** Asserts that a run ended by itself with status 0. */
function assertOk(r) {
  assert.equal(r.error, undefined, `timed out: ${r.what}`);
  assert.equal(r.signal, null, `killed: ${r.what}`);
  assert.equal(r.status, 0, `exit status: ${r.what}`);
}

/** Parses a state file, checking what every state file must hold. */
function readState(file) {
  const text = fs.readFileSync(file, 'utf8');
  let s;
  try {
    s = JSON.parse(text);
  } catch (err) {
    assert.fail(`${file} is not valid JSON (${err.message}): ${text.slice(0, 200)}`);
  }
  assert.equal(s.tool, 'leaktrace-js');
  assert.equal(s.version, 2);
  for (const k of ['pid', 'time_ms', 'start_ms', 'timers_created', 'timers_live', 'rss'])
    assert.ok(Number.isInteger(s[k]) && s[k] >= 0, `${k} is a count: ${s[k]}`);
  assert.equal(typeof s.complete, 'boolean');
  for (const k of ['used', 'total', 'external', 'array_buffers'])
    assert.ok(Number.isInteger(s.heap[k]), `heap.${k}: ${s.heap[k]}`);
  // Counted from the first tick on (node:v8 is loaded then), null before.
  for (const k of ['native_contexts', 'detached_contexts'])
    assert.ok(s.heap[k] === null || Number.isInteger(s.heap[k]), `heap.${k}: ${s.heap[k]}`);
  assert.equal(s.heap.native_contexts === null, s.heap.detached_contexts === null, 'both counts, or neither');
  assert.ok(Array.isArray(s.sites) && Array.isArray(s.timeline));
  assert.equal(s.timers_live, s.sites.reduce((n, x) => n + x.live, 0) + s.overflow.live, 'timers_live adds up');
  assert.ok(s.timeline.length >= 1 && s.timeline.length <= 256, `timeline: ${s.timeline.length} points`);
  for (const p of s.timeline) {
    const where = `timeline point ${JSON.stringify(p)}`;
    assert.deepEqual(Object.keys(p), ['time_ms', 'timers_live', 'heap_used', 'heap_total', 'external',
      'array_buffers', 'rss', 'site_live'], where);
    for (const k of Object.keys(p).slice(0, -1)) assert.ok(Number.isInteger(p[k]) && p[k] >= 0, `${where}: ${k}`);
    // The sites with the most live timers, most first, as [index in sites, live].
    assert.ok(p.site_live.length <= 16, `${where}: 16 sites at most`);
    const seen = new Set();
    for (const [i, n] of p.site_live) {
      assert.ok(Number.isInteger(i) && i >= 0 && i < s.sites.length && !seen.has(i), `${where}: site ${i}`);
      assert.ok(Number.isInteger(n) && n > 0, `${where}: live ${n}`);
      seen.add(i);
    }
    assert.ok(p.site_live.every(([, n], j) => j === 0 || n <= p.site_live[j - 1][1]), `${where}: most first`);
    assert.ok(p.site_live.reduce((a, [, n]) => a + n, 0) <= p.timers_live, `${where}: no more than timers_live`);
  }
  // The last point is the state's own moment when the module wrote at exit.
  if (s.complete) {
    const last = s.timeline.at(-1);
    assert.equal(last.timers_live, s.timers_live, 'the exit write is the last point');
    const listed = s.sites.map((x, i) => [i, x.live]).filter(([, n]) => n > 0);
    if (listed.length <= 16)
      assert.deepEqual(new Map(last.site_live), new Map(listed), 'the exit point lists every site with live timers');
  }
  for (const x of s.sites) {
    for (const k of ['line', 'column', 'live', 'created', 'interval_ms', 'unrefed'])
      assert.ok(Number.isInteger(x[k]) && x[k] >= 0, `site.${k}: ${JSON.stringify(x)}`);
    assert.ok(x.live <= x.created || x.inherited, `live <= created: ${JSON.stringify(x)}`);
    assert.equal(x.oldest_created_ms === null, x.live === 0);
    assert.equal(x.inherited, x.via !== null);
    assert.ok(x.frames.length >= 1 && x.frames.length <= 32);
  }
  return s;
}

/**
 * The marked lines of a source file: a line ending in `// NAME` gives
 * { NAME: { line, text } }, so that no test hard-codes a line number.
 */
function markers(file) {
  const out = {};
  fs.readFileSync(file, 'utf8').split('\n').forEach((text, i) => {
    const m = /\/\/ ([A-Z][A-Z0-9_]*)\s*$/.exec(text);
    if (m) out[m[1]] = { line: i + 1, text };
  });
  return out;
}

/** The column (1-based) of `word` on a marked line: where V8 puts a call. */
const columnOf = (mark, word) => mark.text.indexOf(word) + 1;

/** The sites of a state at `file:line`. */
const sitesAt = (state, file, line) => state.sites.filter((x) => x.file === file && x.line === line);

/** The one site at file:line that is (or is not) inherited. */
function siteAt(state, file, line, inherited = false) {
  const found = sitesAt(state, file, line).filter((x) => x.inherited === inherited);
  assert.equal(found.length, 1, `one ${inherited ? 'inherited ' : ''}site at ${file}:${line}; sites:\n${show(state)}`);
  return found[0];
}

/** A short listing of the sites, for assertion messages. */
function show(state) {
  return state.sites.map((x) =>
    `  ${x.file}:${x.line}:${x.column} ${x.function} live=${x.live} created=${x.created}` +
    ` repeating=${x.repeating} interval=${x.interval_ms}${x.inherited ? ` via ${x.via.file}:${x.via.line}` : ''}`)
    .join('\n');
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

module.exports = {
  MODULE, FIXTURES, NODE, fixture, tmpdir, cleanEnv, run, start, assertOk, readState, markers, columnOf,
  sitesAt, siteAt, show, sleep,
};
