// examples/ssr-leak as a cluster (a primary and two workers, re-forked when
// they die, as egg's cfork does) under `leaktrace run`: one trace file and
// one JS state per process, each complete after SIGTERM, each worker's live
// timers at the component's setInterval line equal to the pages it served;
// a worker killed by SIGKILL is re-forked and its trace still reads, as of
// its last tick. Nothing may hang: every wait is bounded.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { LEAKTRACE, assertStatus, describeTimers, frameAt, header, report, run, tmpdir, traceFiles } from './lib.mjs';
import { MAP_PANEL, assertPackages, intervalLine, jsState, load, ready, startServer, stop } from './ssrlib.mjs';

const RATE = 20;

/** The cluster under `leaktrace run`, killed after the test whatever happens. */
async function startCluster(t) {
  assertPackages();
  const dir = tmpdir(t);
  const srv = startServer(dir, ['--cluster', '2']);
  t.after(() => srv.kill());
  const state = await ready(srv, (s) => s.workers.length === 2);
  await sleep(500); /* the JS module's first points after start-up */
  return { dir, srv, state };
}

/** Adds the pages of a load to a tally by worker pid, after checking all were answered. */
function tally(byPid, served, count) {
  assert.deepEqual(served.failures, [], 'every request answered');
  assert.equal(served.ok, count, 'every request answered 200');
  for (const [pid, n] of served.byPid) byPid.set(pid, (byPid.get(pid) ?? 0) + n);
}

/** The live JS timers of a trace at the component's setInterval line (0 when none). */
function componentTimers(file) {
  const rep = report([file]);
  const at = rep.timers.filter((tm) => tm.kind === 'js' && frameAt(tm.frames[0], MAP_PANEL, intervalLine()));
  assert.ok(at.length <= 1, `one site at that line at most:\n${describeTimers(rep.timers)}`);
  return { rep, live: at.length ? at[0].live : 0 };
}

/** A process that exited by itself: complete trace, exit status 0, complete JS state. */
function assertClean(dir, pid) {
  const file = path.join(dir, `leaktrace.${pid}.lt`);
  const h = header(file);
  assert.deepEqual([h.pid, h.complete, h.exit_status], [pid, true, 0], `pid ${pid}: complete, exit status 0`);
  const js = jsState(dir, pid);
  assert.deepEqual([js.pid, js.complete], [pid, true], `pid ${pid}: the JS state of its exit`);
  const { rep, live } = componentTimers(file);
  assert.equal(rep.process.complete, true, `pid ${pid}: the report says complete`);
  return { h, live };
}

// One run for both, since each start of the cluster under the tracer costs
// seconds of CPU: pages served, a worker killed, pages served again, SIGTERM.
test('a primary and two workers, one killed by SIGKILL and re-forked: one readable trace per process, ' +
  'each clean one complete, each worker\'s live timers equal to the pages it served', { timeout: 150000 }, async (t) => {
  const { dir, srv, state } = await startCluster(t);
  const byPid = new Map();
  tally(byPid, await load(state.port, 20, RATE), 20);
  assert.deepEqual([...byPid.keys()].sort((a, b) => a - b), state.workers, 'both workers served pages');
  await sleep(1000); /* ten ticks: the JS state has every timer of the load */
  const [victim, survivor] = state.workers;
  process.kill(victim, 'SIGKILL');
  const after = await ready(srv, (s) => s.workers.length === 2 && !s.workers.includes(victim));
  const [fresh] = after.workers.filter((p) => p !== survivor);
  assert.ok(after.workers.includes(survivor) && fresh, `a new worker beside the survivor: ${JSON.stringify(after)}`);
  tally(byPid, await load(state.port, 20, RATE), 20);
  await sleep(500);
  const end = await stop(srv, state.pid);
  assert.deepEqual([end.code, end.signal], [0, null], `the primary exits 0 once its workers have:\n${srv.output()}`);
  assert.match(end.stderr, new RegExp(`worker ${victim} died \\(SIGKILL\\); forking another\\n`));

  const pids = [state.pid, victim, survivor, fresh].sort((a, b) => a - b);
  assert.deepEqual(traceFiles(dir), pids.map((p) => `leaktrace.${p}.lt`), 'one trace file per process');
  assert.match(end.stderr, /leaktrace: 4 trace files written:\n/, 'run lists the four');

  // The primary, the survivor and the new worker ended by themselves.
  assert.equal(assertClean(dir, state.pid).live, 0, 'the primary renders nothing');
  let sum = 0;
  for (const pid of [survivor, fresh]) {
    const { h, live } = assertClean(dir, pid);
    assert.equal(h.ppid, state.pid, `worker ${pid} is the primary's child`);
    assert.equal(live, byPid.get(pid) ?? 0, `worker ${pid}: one live timer per page it served`);
    sum += live;
  }

  // The victim: incomplete but valid, its figures those of its last tick.
  const file = path.join(dir, `leaktrace.${victim}.lt`);
  const h = header(file);
  assert.deepEqual([h.complete, h.exit_status, h.ppid], [false, null, state.pid], 'killed: not complete, no exit status');
  const text = run(LEAKTRACE, ['report', file]);
  assertStatus(text);
  assert.match(text.stdout, new RegExp(`^pid ${victim}: .* \\(did not exit cleanly\\)\\n`), 'the text report says so');
  const { rep, live } = componentTimers(file);
  assert.equal(rep.process.complete, false);
  assert.equal(jsState(dir, victim).complete, false, 'the JS state of its last tick');
  assert.equal(live, byPid.get(victim), 'the victim\'s live timers: the pages it served');
  sum += live;
  assert.equal(sum, 40, 'every page served left its timer in one of the traces');

  // The timeline of them all: each line's end says whose it is, and no two
  // of these labels sit on each other.
  const svg = path.join(dir, 'all.svg');
  assertStatus(run(LEAKTRACE, ['timeline', dir, '-o', svg]));
  const labels = [...fs.readFileSync(svg, 'utf8').matchAll(/<text class="small" x="([\d.]+)" y="([\d.]+)"( text-anchor="end")?>pid (\d+)<\/text>/g)]
    .map((m) => ({ x: Number(m[1]), y: Number(m[2]), end: !!m[3], pid: Number(m[4]) }));
  assert.deepEqual([...new Set(labels.map((l) => l.pid))].sort(), [...pids].sort(), 'every process labelled');
  for (const [i, a] of labels.entries())
    for (const b of labels.slice(i + 1))
      assert.ok(a.end !== b.end || Math.abs(a.x - b.x) >= 64 || Math.abs(a.y - b.y) >= 10,
        `labels apart: ${JSON.stringify(a)} ${JSON.stringify(b)}`);
});
