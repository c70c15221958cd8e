// JS frames in native stacks: node run under `leaktrace run` is asked for
// its perf map (--perf-basic-prof --interpreted-frames-native-stack), which
// the tracer copies beside the trace; the report names the JS functions in
// the stacks of native allocations. tests/fixtures/js/buffers.js keeps
// 10000 Buffers made by leakBuffers, whose code V8 moves from the
// interpreter to optimized code on the way: every one of those blocks must
// be found under a JS frame leakBuffers at its script and line, the biggest
// site first. With --no-js-frames: no map, no copy, no JS frame. Then the
// copy itself, with a program that stands in for node (tests/programs/
// fakenode.c): a stale map removed before node starts, lines copied as they
// come (a half line completed later), a copy per image across exec, a fork
// linked to its parent's copy, and a map of another user's in the way.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  LEAKTRACE, assertStatus, cleanEnv, extractReport, header, markers, prog, report, run, tmpdir, traceFiles,
  tracedEnv,
} from './lib.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const BUFFERS_JS = path.join(ROOT, 'tests', 'fixtures', 'js', 'buffers.js');
const NODE = process.execPath;
const LINE = markers(BUFFERS_JS).FUNCTION.leakBuffers;
// 200 rounds of Buffer.alloc(4096 + i) for i in 0..49.
const BUFFERS = 200 * 50, BUFFER_BYTES = 200 * (50 * 4096 + (49 * 50) / 2);

/** `leaktrace run [ARGS] -- node buffers.js` in a fresh directory, which is also node's cwd. */
function runBuffers(t, args = [], scriptArgs = []) {
  const dir = tmpdir(t);
  const r = run(LEAKTRACE, ['run', '-o', dir, '--format', 'json', ...args, '--', NODE, BUFFERS_JS, ...scriptArgs],
    { env: cleanEnv(), cwd: dir, timeout: 90000 });
  assertStatus(r);
  assert.equal(r.stdout, `kept ${BUFFERS}\n`, 'the script ran as without the tracer, its stdout its own');
  const pid = extractReport(r.stderr).process.pid;
  const tmpMap = `/tmp/perf-${pid}.map`;
  t.after(() => fs.rmSync(tmpMap, { force: true }));
  const trace = path.join(dir, `leaktrace.${pid}.lt`);
  assert.deepEqual(traceFiles(dir), [path.basename(trace)], 'one trace file, node\'s');
  return { dir, pid, trace, tmpMap, rep: report([trace], ['--top', '0']) };
}

const jsFrames = (s) => s.frames.filter((f) => f.js);
const isLeakBuffers = (f) => f.js && f.function === 'leakBuffers';
// The Buffers' backing stores: the only allocation sites of 4096 bytes a
// block or more that pass through leakBuffers.
const bufferSites = (rep, under) => rep.sites.filter((s) =>
  s.kind === 'allocation' && s.live_bytes / s.live_blocks >= 4096 && under(s));

test('native allocations from a JS function: the JS frame named, at its script and line', (t) => {
  const { dir, pid, trace, tmpMap, rep } = runBuffers(t);

  // Every Buffer under a JS frame leakBuffers, whatever tier its code was at.
  const sites = bufferSites(rep, (s) => s.frames.some(isLeakBuffers));
  const sum = (k) => sites.reduce((a, s) => a + s[k], 0);
  assert.equal(sum('live_blocks'), BUFFERS, 'every Buffer under leakBuffers');
  assert.equal(sum('live_bytes'), BUFFER_BYTES, 'every byte of them');
  // leaktrace's own node module is the tracer's: none of its allocations is a site.
  const ours = rep.sites.filter((s) => s.kind === 'allocation' &&
    s.frames.some((f) => f.js && /\/node\/leaktrace\.js$/.test(f.file ?? '')));
  assert.deepEqual(ours, [], 'no allocation site through node/leaktrace.js');

  // The biggest allocation site of the process is theirs, and names it.
  const top = rep.sites.filter((s) => s.kind === 'allocation')
    .reduce((a, s) => (s.live_bytes > a.live_bytes ? s : a));
  assert.ok(sites.includes(top), `the biggest site is the Buffers': ${JSON.stringify(top).slice(0, 600)}`);
  const f = top.frames.find(isLeakBuffers);
  assert.equal(f.file, BUFFERS_JS, 'its script');
  assert.equal(f.line, LINE, 'the line leakBuffers starts on');
  assert.ok(Number.isSafeInteger(f.column) && f.column > 0, `a column: ${f.column}`);
  assert.ok(['interpreted', 'baseline', 'maglev', 'optimized'].includes(f.tier), `a tier: ${f.tier}`);
  assert.equal(f.module, null, 'no module');
  // Every frame between the allocator and it is named: V8's builtins run
  // from a second mapping of node's code (short builtin calls), which is
  // node's all the same.
  for (const s of sites) {
    const inner = s.frames.slice(0, s.frames.findIndex(isLeakBuffers));
    assert.deepEqual(inner.filter((x) => !x.function).map((x) => x.address), [],
      `frames named under leakBuffers: ${inner.map((x) => x.function ?? x.address).join(' <- ')}`);
  }
  // Its callers: the script's top level, then node's module loader.
  const callers = jsFrames(top).slice(jsFrames(top).indexOf(f) + 1);
  assert.deepEqual([callers[0].function, callers[0].file, callers[0].line], ['(anonymous)', BUFFERS_JS, 1],
    'called from the script itself');
  assert.ok(callers.some((c) => c.function === 'Module._compile' && c.file === 'node:internal/modules/cjs/loader'),
    `through node's loader: ${callers.map((c) => c.function)}`);

  // The same in the text report and the folded stacks.
  const text = run(LEAKTRACE, ['report', '--top', '3', trace]);
  assertStatus(text);
  const quoted = `${BUFFERS_JS}:${LINE}`.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  assert.match(text.stdout, new RegExp(`#\\d+ leakBuffers \\(${quoted}:\\d+\\) \\[JS\\]\n`),
    'text: leakBuffers (script:line:column) [JS]');
  const folded = run(LEAKTRACE, ['report', '--format', 'collapsed', trace]);
  assertStatus(folded);
  assert.ok(folded.stdout.includes(`;leakBuffers (buffers.js:${LINE}) [JS];`), 'folded stacks: the JS frame by name');

  // The copy: beside the trace, the user's alone, all of node's map.
  const copy = path.join(dir, `leaktrace.${pid}.perf.map`);
  assert.deepEqual(fs.readdirSync(dir).sort(),
    [`leaktrace.${pid}.js.json`, `leaktrace.${pid}.lt`, `leaktrace.${pid}.perf.map`],
    'the trace, the JS state, the perf map copy, and nothing else (no V8 log in node\'s cwd)');
  assert.equal(fs.statSync(copy).mode & 0o777, 0o600, 'the copy is mode 0600');
  const h = header(trace);
  assert.ok(h.perf_map, 'the header says there is a copy');
  const copied = fs.readFileSync(copy), original = fs.readFileSync(tmpMap);
  assert.equal(h.perf_map_bytes, copied.length, 'the header counts every byte of the copy');
  assert.ok(copied.length > 0 && original.subarray(0, copied.length).equals(copied),
    `the copy is node's map, or the start of it (${copied.length} of ${original.length} bytes)`);
  assert.ok(/ JS:[~^+*]?leakBuffers /.test(copied.toString()), 'the copy names leakBuffers');

  // /tmp cleaned: the copy is what the report reads.
  fs.rmSync(tmpMap);
  assert.deepEqual(report([trace], ['--top', '0']).sites.map((s) => s.frames), rep.sites.map((s) => s.frames),
    'without /tmp/perf-<pid>.map, the same frames');
  // The copy gone as well: addresses, and one warning that says why.
  fs.renameSync(copy, `${copy}.saved`);
  const without = run(LEAKTRACE, ['report', '--format', 'json', '--top', '0', trace]);
  assertStatus(without);
  assert.match(without.stderr, /^leaktrace: warning: .*perf map .*missing: JS frames shown as addresses\n$/,
    'one warning line');
  const bare = JSON.parse(without.stdout);
  assert.ok(bare.sites.every((s) => jsFrames(s).length === 0), 'no JS frame without a map');
});

// Ending by itself, node disposes of its heap, which frees every Buffer
// the script kept: the JS module's 'exit' listener stops the recording
// first, so the trace keeps them, as with process.exit.
test('node ending by itself: what the script held at its end, not what teardown left', (t) => {
  const { trace, rep } = runBuffers(t, [], ['200', 'natural']);
  const sites = bufferSites(rep, (s) => s.frames.some(isLeakBuffers));
  assert.deepEqual({ blocks: sites.reduce((a, s) => a + s.live_blocks, 0), bytes: sites.reduce((a, s) => a + s.live_bytes, 0) },
    { blocks: BUFFERS, bytes: BUFFER_BYTES }, 'every Buffer still live');
  const text = run(LEAKTRACE, ['report', trace]);
  assertStatus(text);
  assert.match(text.stdout, /^note: recorded up to node's 'exit' event/m);
});

test('--no-js-frames: node is not asked for its map, nothing is copied, no JS frame', (t) => {
  const started = Date.now();
  const { dir, pid, trace, tmpMap, rep } = runBuffers(t, ['--no-js-frames']);
  // A map there from an earlier process of the same pid (node leaves its
  // map behind) is older than this run.
  assert.ok(!fs.existsSync(tmpMap) || fs.statSync(tmpMap).mtimeMs < started - 1000, 'node wrote no perf map');
  assert.deepEqual(fs.readdirSync(dir).sort(), [`leaktrace.${pid}.js.json`, `leaktrace.${pid}.lt`],
    'no copy beside the trace');
  const h = header(trace);
  assert.ok(!h.perf_map && h.perf_map_bytes === 0, 'the header says there is none');
  assert.ok(rep.sites.every((s) => jsFrames(s).length === 0 && s.frames.every((f) => !f.v8)),
    'no JS frame, no V8 code named');
  const big = bufferSites(rep, () => true).reduce((a, s) => a + s.live_bytes, 0);
  assert.ok(big >= BUFFER_BYTES, `the Buffers are all there, only without names for their JS frames: ${big}`);
});

test('a node child of a traced node: the options once, a map and a copy of its own', (t) => {
  const dir = tmpdir(t);
  const child = 'console.log(process.env.NODE_OPTIONS)';
  const parent = `require('child_process').spawnSync(process.execPath, ['-e', ${JSON.stringify(child)}], ` +
    '{ stdio: "inherit" })';
  const r = run(LEAKTRACE, ['run', '-o', dir, '--no-report', '--', NODE, '-e', parent],
    { env: cleanEnv({ NODE_OPTIONS: '--max-old-space-size=512' }), cwd: dir, timeout: 60000 });
  assertStatus(r);
  const opts = r.stdout.trim().split(/\s+/);
  for (const o of ['--perf-basic-prof-only-functions', '--interpreted-frames-native-stack', '--max-old-space-size=512'])
    assert.equal(opts.filter((x) => x === o).length, 1, `${o} once in the child's NODE_OPTIONS: ${r.stdout}`);
  const traces = traceFiles(dir);
  assert.equal(traces.length, 2, `two trace files: ${traces}`);
  for (const tr of traces) {
    const h = header(path.join(dir, tr));
    t.after(() => fs.rmSync(`/tmp/perf-${h.pid}.map`, { force: true }));
    const copy = path.join(dir, tr.replace(/\.lt$/, '.perf.map'));
    assert.ok(h.perf_map && fs.statSync(copy).size === h.perf_map_bytes && h.perf_map_bytes > 0,
      `${tr}: a copy of its own process's map`);
  }
  assert.ok(!fs.readdirSync(dir).some((f) => f.endsWith('v8.log')), 'no V8 log in node\'s cwd');
});

const FAKE = prog('node-0');
const isRoot = process.getuid() === 0;

test('the copy: a stale map removed, lines copied as they come, one copy per exec, a fork linked', (t) => {
  const dir = tmpdir(t);
  const r = run(FAKE, ['exec'], { env: tracedEnv(dir, { LEAKTRACE_TICK_MS: '10' }), cwd: dir });
  assertStatus(r);
  const pid = Number(/^leaktrace\.(\d+)\.lt$/.exec(traceFiles(dir)[0])[1]);
  const child = Number(/^child (\d+)$/m.exec(r.stdout)[1]);
  t.after(() => fs.rmSync(`/tmp/perf-${pid}.map`, { force: true }));
  assert.equal(r.stdout, `stale map removed: yes\nperf options: yes\nchild ${child}\n`, r.what);
  const files = [`leaktrace.${pid}.lt`, `leaktrace.${pid}.2.lt`, `leaktrace.${child}.lt`];
  assert.deepEqual(traceFiles(dir), files, 'the two images, the fork');
  const copy = (f) => path.join(dir, f.replace(/\.lt$/, '.perf.map'));
  const text = (f) => fs.readFileSync(copy(f), 'utf8');

  // The first image's map, up to its exec.
  assert.equal(text(files[0]), '100 10 JS:~stale /old.js:1:1\n', 'the first image: its own map, copied at exec');
  // The second image's: written afresh (the stale one gone first), every
  // line whole, the half line completed, the fork's line too (it writes
  // to its parent's map).
  const all = '1000 10 JS:~first /x.js:1:1\n2000 10 JS:~second /x.js:2:2\n' +
    '3000 10 JS:~child /x.js:3:3\n4000 10 JS:~last /x.js:4:4\n';
  assert.equal(text(files[1]), all, 'the second image: all of its map');
  assert.equal(fs.readFileSync(`/tmp/perf-${pid}.map`, 'utf8'), all, 'as /tmp has it');
  for (const f of files.slice(0, 2)) {
    const h = header(path.join(dir, f));
    assert.ok(h.perf_map && h.perf_map_bytes === fs.statSync(copy(f)).size, `${f}: the header counts the copy`);
    assert.equal(fs.statSync(copy(f)).mode & 0o777, 0o600, `${f}: the copy is 0600`);
  }
  // The fork: a link to its parent's copy, never a copy of its own.
  const [p, c] = [fs.statSync(copy(files[1])), fs.statSync(copy(files[2]))];
  assert.ok(p.ino === c.ino && p.dev === c.dev && p.nlink === 2, 'the fork\'s copy is its parent\'s, linked');
  assert.ok(header(path.join(dir, files[2])).perf_map, 'the fork\'s header says it has one');
});

test('a map of another user\'s in the way: node is not asked for one (it would abort)', { skip: !isRoot && 'needs root' }, (t) => {
  const dir = tmpdir(t);
  const r = run(FAKE, ['foreign'], {
    env: tracedEnv(dir, { NODE_OPTIONS: '--perf-basic-prof --max-old-space-size=100' }), cwd: dir,
  });
  assertStatus(r);
  const pid = Number(/^leaktrace\.(\d+)\.lt$/.exec(traceFiles(dir)[0])[1]);
  t.after(() => fs.rmSync(`/tmp/perf-${pid}.map`, { force: true }));
  const opts = /^NODE_OPTIONS=(.*)$/m.exec(r.stdout)[1].split(' ');
  assert.ok(!opts.includes('--perf-basic-prof'), `no --perf-basic-prof, not even the user's: ${opts}`);
  assert.ok(opts.includes('--max-old-space-size=100'), 'the user\'s other options kept');
  assert.match(r.stderr, /perf-\d+\.map is in the way and not this user's file/, 'and it says why');
  assert.equal(fs.statSync(`/tmp/perf-${pid}.map`).uid, 65534, 'the file left alone');
  assert.ok(!fs.existsSync(path.join(dir, `leaktrace.${pid}.2.perf.map`)), 'nothing copied');
});
