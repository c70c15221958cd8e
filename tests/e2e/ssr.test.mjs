// examples/ssr-leak, the case leaktrace was born from, under `leaktrace run`:
// a React server render whose component arms window.setInterval in
// UNSAFE_componentWillMount (which runs on the server) and never clears it.
// Leaky: the first live timer site of the report is that line, with one live
// timer per page served, and the JS heap keeps about a store (1.2 MB) per
// page. Fixed (the call in componentDidMount, which the server never runs):
// no timer from that line, no growth.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { describeTimers, frameAt, header, report, traceFiles } from './lib.mjs';
import { MAP_PANEL, MiB, assertPackages, intervalLine, jsState, load, ready, startServer, stop } from './ssrlib.mjs';

const REQUESTS = 60;
const RATE = 20; /* requests a second: 3 s of load */

const cleanups = [];
after(async () => {
  for (const f of cleanups.reverse()) await f();
});

/**
 * The example (args: [] or ['--fixed']) under `leaktrace run`: REQUESTS at
 * RATE, one second idle, SIGTERM. Resolves to the run, the load's result,
 * the trace's header, JSON report and the JS state.
 */
async function runExample(args) {
  assertPackages();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'leaktrace-ssr-'));
  const srv = startServer(dir, args);
  cleanups.push(async () => {
    await srv.kill();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const state = await ready(srv);
  // The JS module's timer stood still while the server loaded jsdom and
  // React: a few points of the timeline after that, before the load.
  await sleep(500);
  const loadStart = Date.now();
  const served = await load(state.port, REQUESTS, RATE);
  // Long enough for several points of the timeline after the load.
  await sleep(1000);
  const end = await stop(srv, state.pid);
  assert.deepEqual([end.code, end.signal], [0, null], `leaktrace run's exit status is the server's:\n${srv.output()}`);
  assert.deepEqual(served.failures, [], 'every request answered');
  assert.equal(served.ok, REQUESTS, 'every request answered 200');
  assert.deepEqual(traceFiles(dir), [`leaktrace.${state.pid}.lt`], 'one trace file, the server\'s');
  const trace = path.join(dir, `leaktrace.${state.pid}.lt`);
  const rep = report([trace]);
  return { dir, pid: state.pid, served, loadStart, header: header(trace), rep, js: jsState(dir, state.pid) };
}

let leakyRun, fixedRun;
const leaky = () => (leakyRun ??= runExample([]));
const fixed = () => (fixedRun ??= runExample(['--fixed']));

const atInterval = (f) => frameAt(f, MAP_PANEL, intervalLine());

/** The JS heap at the last point of the JS module's timeline before the load. */
function heapBefore(x) {
  const before = x.js.timeline.filter((p) => p.time_ms <= x.loadStart);
  assert.ok(before.length > 0, 'the JS timeline has a point before the load');
  return before.at(-1).heap_used;
}

test('leaky: the component\'s setInterval line is the first live timer site, one live timer per page served', async () => {
  const x = await leaky();
  assert.deepEqual([x.header.complete, x.header.exit_status], [true, 0], 'the trace is complete, exit status 0');
  assert.equal(x.rep.process.complete, true);
  const shown = describeTimers(x.rep.timers);
  const [top] = x.rep.timers;
  assert.ok(top && atInterval(top.frames[0]),
    `the first timer site is MapPanel.js:${intervalLine()}:\n${shown}`);
  const { oldest_age_s, frames, created, ...figures } = top;
  assert.deepEqual(figures, { kind: 'js', live: REQUESTS, repeating: true, interval_ns: 300 * 1e6 },
    `one live interval per page served, every 300 ms:\n${shown}`);
  assert.equal(frames[0].function, 'waitForMap');
  // jsdom re-arms a node timer at every tick: more were made than are live.
  assert.ok(created > REQUESTS, `re-armed by jsdom: ${created} created`);
  assert.ok(oldest_age_s >= 1 && oldest_age_s < 60, `the oldest lived through the load: ${oldest_age_s} s`);
  assert.ok(frames.some((f) => f.function === 'UNSAFE_componentWillMount' && f.file && fs.realpathSync(f.file) === fs.realpathSync(MAP_PANEL)),
    `called from UNSAFE_componentWillMount:\n${JSON.stringify(frames, null, 1)}`);
  assert.equal(x.rep.timers.filter((tm) => tm.frames.some(atInterval)).length, 1, `one site at that line:\n${shown}`);
});

test('leaky: the JS heap keeps about a store per page (the JS state, after a full GC at exit)', async () => {
  const x = await leaky();
  assert.deepEqual([x.js.complete, x.js.gc], [true, true], 'the exit write, after a full GC');
  const grew = x.js.heap.used - heapBefore(x);
  assert.ok(grew >= 0.5 * MiB * REQUESTS && grew <= 4 * MiB * REQUESTS,
    `heap grew by ${(grew / MiB).toFixed(1)} MiB for ${REQUESTS} pages of a 1.2 MB store each`);
});

test('fixed: no live timer from that line, the JS heap does not grow', async () => {
  const x = await fixed();
  assert.deepEqual([x.header.complete, x.header.exit_status], [true, 0], 'the trace is complete, exit status 0');
  const mine = x.rep.timers.filter((tm) => tm.frames.some(atInterval));
  assert.deepEqual(mine, [], `no timer from MapPanel.js:${intervalLine()}:\n${describeTimers(x.rep.timers)}`);
  assert.deepEqual([x.js.complete, x.js.gc], [true, true], 'the exit write, after a full GC');
  const grew = x.js.heap.used - heapBefore(x);
  assert.ok(grew < 0.2 * MiB * REQUESTS,
    `heap grew by ${(grew / MiB).toFixed(1)} MiB for ${REQUESTS} pages that keep nothing`);
});

test('growth: leaky: the JS heap grows, about a store more with each live timer of that line', async () => {
  const x = await leaky();
  const g = x.rep.growth;
  assert.ok(g && Array.isArray(g.series) && Array.isArray(g.retention), `a growth summary: ${JSON.stringify(g)}`);
  assert.ok(g.span_s >= 3 && g.span_s < 120, `span_s ${g.span_s}`);
  const heap = g.series.find((s) => s.name === 'js_heap_used');
  assert.ok(heap, `a js_heap_used series: ${JSON.stringify(g.series)}`);
  assert.equal(heap.unit, 'bytes');
  assert.ok(heap.last - heap.first >= 0.5 * MiB * REQUESTS && heap.per_minute > 0,
    `the JS heap grows: ${JSON.stringify(heap)}`);
  const timers = g.series.find((s) => s.name === 'timers');
  assert.ok(timers && timers.unit === 'count' && timers.last - timers.first >= REQUESTS,
    `the live timers grow by one a page: ${JSON.stringify(timers)}`);
  const [first] = g.retention;
  assert.ok(first && atInterval(first.frames[0]),
    `the first retention entry is MapPanel.js:${intervalLine()}: ${JSON.stringify(g.retention).slice(0, 1000)}`);
  assert.deepEqual([first.kind, first.live, first.against], ['js', REQUESTS, 'js_heap_used']);
  assert.ok(first.bytes_per_timer >= 0.5 * MiB && first.bytes_per_timer <= 4 * MiB,
    `about a 1.2 MB store per live timer: ${first.bytes_per_timer} bytes`);
  assert.ok(first.r2 >= 0 && first.r2 <= 1 && first.points >= 5, `fit: R² ${first.r2} over ${first.points} points`);
});

test('growth: fixed: nothing retained per timer', async () => {
  const x = await fixed();
  const g = x.rep.growth;
  assert.ok(g && Array.isArray(g.retention), `a growth summary: ${JSON.stringify(g)}`);
  assert.deepEqual(g.retention, [], 'no timer site retains memory');
});
