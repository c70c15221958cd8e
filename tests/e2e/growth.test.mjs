// Where the growth went: a node program (tests/fixtures/js/growth.js) run
// under `leaktrace run` with a tick of 100 ms leaks, one by one over about
// 3 s, N setIntervals from one line whose closures keep 1 MB of JS heap
// each, while another line makes timers and clears them. The report's
// growth summary must name that line, with exactly N live timers and about
// 1 MB retained per timer, and nothing else; its text report must lead with
// the summary. The same memory put into a cache, with timers that do not
// grow, must blame no timer site.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  LEAKTRACE, assertStatus, checkSchema, cleanEnv, extractReport, frameAt, markers, run, tmpdir, traceFiles,
} from './lib.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const GROWTH_JS = path.join(ROOT, 'tests', 'fixtures', 'js', 'growth.js');
const NODE = process.execPath;
const N = 30;
const KEPT = 125000 * 8; /* the numbers each closure keeps, 8 bytes each */

/** `leaktrace run --format json` of growth.js in MODE, ticking every 100 ms. */
function runGrowth(t, mode) {
  const dir = tmpdir(t);
  const r = run(LEAKTRACE, ['run', '-o', dir, '--format', 'json', '--', NODE, GROWTH_JS, mode, String(N)],
    { env: cleanEnv({ LEAKTRACE_TICK_MS: '100' }), cwd: dir, timeout: 90000 });
  assertStatus(r);
  assert.equal(r.stdout, `served ${N}\n`, 'the program ran as without the tracer');
  const rep = extractReport(r.stderr);
  const pid = rep.process.pid;
  assert.deepEqual(traceFiles(dir), [`leaktrace.${pid}.lt`]);
  assert.ok(fs.existsSync(path.join(dir, `leaktrace.${pid}.js.json`)), 'the JS state beside the trace');
  return { rep, trace: path.join(dir, `leaktrace.${pid}.lt`) };
}

const series = (rep, name) => {
  const s = rep.growth.series.find((x) => x.name === name);
  assert.ok(s, `growth.series has ${name}: ${JSON.stringify(rep.growth.series)}`);
  return s;
};

test('a setInterval per request keeping 1 MB each: the JS heap grows with its live timers', (t) => {
  const { rep, trace } = runGrowth(t, 'leak');
  const at = markers(GROWTH_JS).LEAK.interval;
  const g = rep.growth;
  assert.notEqual(g, null, 'a summary');
  assert.deepEqual(g.series.map((s) => s.name),
    ['rss', 'js_heap_used', 'js_heap_total', 'js_external', 'js_array_buffers', 'malloc', 'mappings', 'timers'],
    'every series of a node process, in order');
  assert.ok(g.span_s > 2.5 && g.span_s < 80, `span ${g.span_s} s`);

  const heap = series(rep, 'js_heap_used');
  assert.ok(heap.last - heap.first >= N * KEPT * 0.8, `the JS heap grew by N x 1 MB: ${JSON.stringify(heap)}`);
  assert.ok(heap.per_minute > 0, `and grew over time: ${JSON.stringify(heap)}`);
  const timers = series(rep, 'timers');
  assert.ok(timers.last - timers.first >= N, `the live timers grew by N: ${JSON.stringify(timers)}`);

  // Exactly the leaking line: the cleared one keeps nothing alive.
  assert.equal(g.retention.length, 1, `one site retains:\n${JSON.stringify(g.retention, null, 1)}`);
  const [r] = g.retention;
  assert.equal(r.kind, 'js');
  assert.ok(frameAt(r.frames[0], GROWTH_JS, at), `at growth.js:${at}: ${JSON.stringify(r.frames[0])}`);
  assert.equal(r.frames[0].function, 'handleRequest');
  assert.deepEqual(r.frames, rep.timers[0].frames, 'its frames are those of the timers section');
  assert.equal(r.live, N, 'every timer it made is live');
  assert.equal(r.against, 'js_heap_used');
  assert.ok(r.bytes_per_timer > KEPT / 2 && r.bytes_per_timer < KEPT * 2,
    `about 1 MB per live timer: ${r.bytes_per_timer}`);
  assert.ok(r.r2 >= 0.8 && r.points >= 5, `a good fit: R2 ${r.r2} over ${r.points} points`);

  // The text report of the same file leads with the summary.
  const text = run(LEAKTRACE, ['report', trace]);
  assertStatus(text);
  const lines = text.stdout.split('\n');
  assert.match(lines[0], /^pid \d+: .*growth\.js leak 30 \(exited, status 0\)$/, text.stdout);
  assert.match(lines[1], /^Where the growth went \([\d.]+ s\):$/, text.stdout);
  assert.deepEqual(lines.slice(2, 10).map((l) => l.slice(0, 19).trim()),
    ['RSS', 'JS heap used', 'JS heap total', 'JS external', 'JS array buffers', 'native malloc', 'mappings',
      'live timers'], text.stdout);
  assert.match(lines[10], new RegExp(`^  The JS heap grows with the live timers of handleRequest ` +
    `\\(${GROWTH_JS.replace(/[.]/g, '\\.')}:${at}:\\d+\\): about \\d+(\\.\\d)? (KiB|MiB) more with each live timer ` +
    `\\(R² (0\\.[89]\\d|1\\.00) over \\d+ ticks\\)\\.$`), text.stdout);
  assert.equal(lines[11], '', 'then a blank line, and the rest of the report');

  // check fails on it, at the line, with what the timers keep: the memory is
  // V8's heap, which no site of the program's code holds.
  const ck = run(LEAKTRACE, ['check', trace]);
  assertStatus(ck, 1);
  assert.match(ck.stdout, new RegExp(`: leak at ${GROWTH_JS.replace(/[.]/g, '\\.')}:${at}:\\d+ \\(handleRequest\\): ` +
    `${N} live js timers, the JS heap about \\d+(\\.\\d)? (KiB|MiB) more with each \\(R² (0\\.[89]\\d|1\\.00)\\): .* kept\n`), ck.stdout);
  // What they keep tolerated: the timers, made steadily and never cleared,
  // fail all the same, once; with a bound on them too, it passes.
  const kept = run(LEAKTRACE, ['check', '--max-growth', '1G', trace]);
  assertStatus(kept, 1);
  assert.match(kept.stdout, new RegExp(`^[^\n]*: leak at [^\n]*:${at}:\\d+ \\(handleRequest\\): ${N} live js timers ` +
    'repeating every 1000000 ms, made steadily and never cleared [^\n]*\n$'), kept.stdout);
  assertStatus(run(LEAKTRACE, ['check', '--max-growth', '1G', '--max-live-timers', String(N), trace]), 0);
});

test('two timer sites rising in step: the growth said once, for both, by the report and by check', (t) => {
  const { rep, trace } = runGrowth(t, 'instep');
  const M = markers(GROWTH_JS);
  const g = rep.growth;
  assert.equal(g.retention.length, 1, `one retention, not one per site:\n${JSON.stringify(g.retention, null, 1)}`);
  const [r] = g.retention;
  assert.equal(r.in_step_with.length, 1, JSON.stringify(r.in_step_with));
  const [o] = r.in_step_with;
  const lines = [r, o].map((x) => x.frames[0].line).sort((a, b) => a - b);
  assert.deepEqual(lines, [M.LEAK.interval, M.STEP.heartbeat].sort((a, b) => a - b), 'the interval and the heartbeat');
  assert.deepEqual([r.live, o.live], [N, N]);
  // What each keeps is the growth of both: about 1 MB per pair.
  assert.ok(r.bytes_per_timer > KEPT / 2 && r.bytes_per_timer < KEPT * 2, `about 1 MB: ${r.bytes_per_timer}`);

  const text = run(LEAKTRACE, ['report', trace]);
  assertStatus(text);
  const said = text.stdout.split('\n').filter((l) => l.startsWith('  The JS heap grows with'));
  assert.equal(said.length, 1, text.stdout);
  assert.match(said[0], /, which rose in step with those of .*: about .* more with each live timer of the first \(R² .*\); which of them holds it, no fit can tell\.$/);

  // check fails once, for both, with the growth once.
  const ck = run(LEAKTRACE, ['check', trace]);
  assertStatus(ck, 1);
  const fails = ck.stdout.split('\n').filter(Boolean);
  assert.equal(fails.length, 1, ck.stdout);
  assert.match(fails[0], new RegExp(`: leak at .*: ${N} live js timers, the JS heap about .* more with each \\(R² [01]\\.\\d\\d\\), ` +
    `in step with ${N} of .*: .* kept between them$`));
});

test('the same memory in a cache, timers steady: no timer site is blamed', (t) => {
  const { rep, trace } = runGrowth(t, 'cache');
  const heap = series(rep, 'js_heap_used');
  assert.ok(heap.last - heap.first >= N * KEPT * 0.8, `the JS heap grew all the same: ${JSON.stringify(heap)}`);
  assert.deepEqual(rep.growth.retention, [], 'no timer site retains it');
  const steady = markers(GROWTH_JS).STEADY.pollers;
  assert.ok(rep.timers.some((tm) => tm.live === 5 && frameAt(tm.frames[0], GROWTH_JS, steady)),
    'the five pollers are live, and not blamed');
  const ck = run(LEAKTRACE, ['check', trace]);
  assert.ok(!/ live js timers, the JS heap /.test(ck.stdout), `no timer site blamed by check: ${ck.stdout}`);
});

// One JS line, many stacks (tests/fixtures/js/tiered.js): check sums them,
// as one place, and names the line; the report lists it with its sites.
test('a line V8 reaches through many stacks as it compiles it again: one leak, all of it', (t) => {
  const TIERED_JS = path.join(ROOT, 'tests', 'fixtures', 'js', 'tiered.js');
  const dir = tmpdir(t);
  const r = run(LEAKTRACE, ['run', '-o', dir, '--no-report', '--', NODE, TIERED_JS],
    { env: cleanEnv({ LEAKTRACE_TICK_MS: '100' }), cwd: dir, timeout: 90000 });
  assertStatus(r);
  assert.equal(r.stdout, 'kept 6000\n');
  const ck = run(LEAKTRACE, ['check', dir]);
  assertStatus(ck, 1);
  const lines = ck.stdout.split('\n').filter(Boolean);
  assert.equal(lines.length, 1, ck.stdout);
  const m = new RegExp(`: leak at tiered\\.js:${markers(TIERED_JS).FUNC.handle} \\(handle\\): grew .*; .* \\((\\d+) bytes\\) live in \\d+ blocks( from (\\d+) stacks)?$`).exec(lines[0]);
  assert.ok(m, lines[0]);
  // The 6000 buffers' stores, whichever stack each came from.
  assert.ok(Number(m[1]) >= 6000 * 2048, lines[0]);
  const text = run(LEAKTRACE, ['report', dir]);
  assertStatus(text);
  assert.match(text.stdout, new RegExp(`\\nleaks by the line that holds them in the program's code:\\n  tiered\\.js:${markers(TIERED_JS).FUNC.handle} \\(handle\\): \\+`));
  // The JSON report's places: the same place first, its bytes those check
  // named, its sites among those shown pointing back at the line.
  const json = run(LEAKTRACE, ['report', '--format', 'json', '--top', '0', dir]);
  assertStatus(json);
  const rep = JSON.parse(json.stdout);
  const first = rep.places[0];
  assert.equal(first.where, `tiered.js:${markers(TIERED_JS).FUNC.handle} (handle)`);
  assert.deepEqual([first.users_code, first.heap, first.kind, first.verdict], [true, false, 'allocation', 'leak']);
  assert.equal(first.live_bytes, Number(m[1]));
  assert.equal(first.stacks, Number(m[3] ?? 1));
  assert.equal(first.site_indexes.length, first.stacks);
  let sum = 0;
  for (const i of first.site_indexes) {
    const site = rep.sites[i];
    sum += site.live_bytes;
    assert.ok(site.frames.some((f) => f.js && f.file.endsWith('/tiered.js') && f.line === markers(TIERED_JS).FUNC.handle), JSON.stringify(site.frames.slice(0, 6)));
  }
  assert.equal(sum, first.live_bytes);
  // SARIF: one result for the line, with the place's figures.
  const sarif = run(LEAKTRACE, ['report', '--format', 'sarif', dir]);
  assertStatus(sarif);
  const leaks = JSON.parse(sarif.stdout).runs[0].results.filter((x) => x.ruleId === 'leak');
  assert.equal(leaks.length, 1, JSON.stringify(leaks.map((x) => x.message.text)));
  assert.equal(leaks[0].locations[0].physicalLocation.region.startLine, markers(TIERED_JS).FUNC.handle);
  assert.deepEqual([leaks[0].properties.live_bytes, leaks[0].properties.stacks], [first.live_bytes, first.stacks]);
  // Every live byte of the shown sites is in one place, once.
  const placed = rep.places.flatMap((p) => p.site_indexes).sort((a, b) => a - b);
  assert.deepEqual(placed, rep.sites.map((_, i) => i));
});

// The classic leak, its closure small: check fails on it by default, at the
// line that arms the timers; the same program clearing them passes; an
// explicit --max-live-timers bounds the timers instead.
test('repeating timers armed steadily and never cleared fail check, whatever they hold', (t) => {
  const INTERVALS_JS = path.join(ROOT, 'tests', 'fixtures', 'js', 'intervals.js');
  const at = markers(INTERVALS_JS).TIMER.watch;
  const traced = (mode) => {
    const dir = tmpdir(t);
    const r = run(LEAKTRACE, ['run', '-o', dir, '--no-report', '--', NODE, INTERVALS_JS, mode],
      { env: cleanEnv({ LEAKTRACE_TICK_MS: '100' }), cwd: dir, timeout: 90000 });
    assertStatus(r);
    assert.equal(r.stdout, `done ${mode}\n`);
    return dir;
  };
  const leak = traced('leak');
  const ck = run(LEAKTRACE, ['check', leak]);
  assertStatus(ck, 1);
  const m = new RegExp(`: leak at ${INTERVALS_JS.replace(/[.]/g, '\\.')}:${at}:\\d+ \\(watch\\): (\\d+) live js timers ` +
    'repeating every 60000 ms, made steadily and never cleared \\(from \\d+, \\+\\d+ a minute over \\d+ ticks\\)\n').exec(ck.stdout);
  assert.ok(m, ck.stdout);
  assert.ok(Number(m[1]) > 100, `most of the 250 timers live: ${m[1]}`);
  const rep = checkSchema(JSON.parse(run(LEAKTRACE, ['report', '--format', 'json', leak]).stdout));
  assert.equal(rep.growth.timer_leaks.length, 1);
  assert.equal(rep.growth.timer_leaks[0].live, Number(m[1]));
  assert.equal(rep.growth.timer_leaks[0].frames[0].line, at);
  // A bound of the user's: the timers judged against it instead.
  assertStatus(run(LEAKTRACE, ['check', '--max-live-timers', '1000', leak]), 0);
  assertStatus(run(LEAKTRACE, ['check', '--max-live-timers', '10', leak]), 1);
  // Cleared as they go: one live at a time, nothing to fail.
  const clean = traced('clean');
  const ok = run(LEAKTRACE, ['check', clean]);
  assert.ok(!/ live js timers /.test(ok.stdout), ok.stdout);
  assert.deepEqual(checkSchema(JSON.parse(run(LEAKTRACE, ['report', '--format', 'json', clean]).stdout)).growth.timer_leaks, []);
  // The same leak, then as long without a request: the flat end is no
  // bound (none was ever cleared), and check still fails on it.
  const idle = traced('idle');
  const ci = run(LEAKTRACE, ['check', idle]);
  assertStatus(ci, 1);
  assert.match(ci.stdout, new RegExp(`: leak at ${INTERVALS_JS.replace(/[.]/g, '\\.')}:${at}:\\d+ \\(watch\\): \\d+ live js timers ` +
    'repeating every 60000 ms, made steadily and never cleared '));
});

// A node process whose own code holds nothing at the end (a test runner):
// node's internals (V8's heap, OpenSSL, ICU) are not the program's, and do
// not fail check; code given with -e is the program's, and does.
test('node --test of a clean test file passes check; a leak in node -e code fails it at [eval]', (t) => {
  const dir = tmpdir(t);
  fs.writeFileSync(path.join(dir, 'clean.test.js'), "const test = require('node:test');\n" +
    "const assert = require('node:assert');\n" +
    "test('adds', () => { assert.strictEqual(1 + 1, 2); });\n" +
    "test('waits', async () => { await new Promise((r) => setTimeout(r, 300)); });\n");
  const env = cleanEnv({ LEAKTRACE_TICK_MS: '100' });
  const tests = run(LEAKTRACE, ['run', '-o', 'o', '--no-report', '--', NODE, '--test', 'clean.test.js'], { env, cwd: dir, timeout: 90000 });
  assertStatus(tests);
  const ok = run(LEAKTRACE, ['check', path.join(dir, 'o')]);
  assertStatus(ok, 0);
  const said = ok.stdout.split('\n').filter(Boolean);
  assert.ok(said.length >= 1 && said.every((l) => / ok: no leak beyond the bounds in the program's code /.test(l)), ok.stdout);
  const leak = run(LEAKTRACE, ['run', '-o', 'e', '--no-report', '--', NODE, '-e',
    'const held = []; const t = setInterval(() => held.push(Buffer.alloc(20000)), 20); setTimeout(() => clearInterval(t), 2500);'],
  { env, cwd: dir, timeout: 90000 });
  assertStatus(leak);
  const ck = run(LEAKTRACE, ['check', path.join(dir, 'e')]);
  assertStatus(ck, 1);
  assert.match(ck.stdout, /: leak at \[eval\]:1 \(anonymous\): grew \+\d/);
});
