// The state file is whole at every moment, even when the process dies by
// SIGKILL: each write goes to a temporary file renamed over the old one.
// After the kill it holds the figures of the last tick, marked incomplete.
'use strict';

const assert = require('node:assert/strict');
const fs = require('node:fs');
const readline = require('node:readline');
const { test } = require('node:test');
const { fixture, markers, readState, show, siteAt, sleep, start, tmpdir } = require('./helpers');

const TICKING = fixture('ticking.js');
const M = markers(TICKING);
const TICK_MS = 40;

test('killed after a few ticks: valid, incomplete, figures of the last tick', async (t) => {
  const dir = tmpdir(t);
  const child = start(dir, TICKING, [], { env: { LEAKTRACE_TICK_MS: String(TICK_MS) } });
  t.after(() => child.kill('SIGKILL'));
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const lines = readline.createInterface({ input: child.stdout });
  const phase2 = new Promise((resolve) => lines.on('line', (l) => l === 'phase 2' && resolve(Date.now())));

  // Read the file as fast as it is rewritten until two ticks after phase 2:
  // every read must parse.
  let reads = 0, last = null, after = 0;
  const deadline = Date.now() + 20000;
  let phase2At = null;
  phase2.then((ms) => { phase2At = ms; });
  while (Date.now() < deadline) {
    if (fs.existsSync(child.stateFile)) {
      last = readState(child.stateFile);
      reads++;
      assert.equal(last.complete, false, 'never complete while running');
      if (phase2At !== null && last.time_ms > phase2At) after++;
      if (after >= 2 && reads >= 20) break;
    }
    await sleep(2);
  }
  assert.ok(phase2At !== null, `phase 2 never came; stderr: ${stderr}`);
  assert.ok(after >= 2, `two writes after phase 2 (${reads} reads); stderr: ${stderr}`);
  assert.equal(last.timers_live, 15, 'the last write read holds both phases');

  child.kill('SIGKILL');
  const end = await exited;
  assert.equal(end.signal, 'SIGKILL');

  const s = readState(child.stateFile);
  assert.equal(s.pid, child.pid);
  assert.equal(s.complete, false, 'killed: not complete');
  assert.equal(s.tick_ms, TICK_MS);
  assert.ok(s.time_ms >= last.time_ms, 'the file holds the last tick written');
  // Ten intervals of phase 1, five of phase 2; the NEXT timer fired.
  const p1 = siteAt(s, TICKING, M.PHASE1.line);
  const p2 = siteAt(s, TICKING, M.PHASE2.line);
  assert.deepEqual([p1.live, p1.created, p1.interval_ms], [10, 10, 60000], show(s));
  assert.deepEqual([p2.live, p2.created, p2.interval_ms], [5, 5, 30000], show(s));
  const next = siteAt(s, TICKING, M.NEXT.line);
  assert.deepEqual([next.live, next.created], [0, 1]);
  assert.equal(s.timers_created, 16);
  assert.equal(s.timers_live, 15);
  assert.ok(s.timeline.length >= 3, 'a sample per tick');
  assert.ok(s.timeline.every((p, i) => i === 0 || p.time_ms >= s.timeline[i - 1].time_ms));
});
