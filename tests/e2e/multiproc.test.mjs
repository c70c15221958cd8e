// Reports over several processes (issue 4): a node parent that forks two
// children with child_process.fork (tests/fixtures/js/forks.js), each
// leaking Buffers from one function they share, memory of its own from a
// line of its own, and a setInterval from a shared line. `leaktrace run`
// and `leaktrace report DIR` give one line per process, the sites and
// timers that are the same in both children merged (figures summed, both
// pids), then each process's report; a damaged trace in the directory
// costs its own line and status 2, not the others' report.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  LEAKTRACE, assertLeak, assertStatus, cleanEnv, describeSites, describeTimers, extractReport, frameAt, markers, run,
  tmpdir, traceFiles,
} from './lib.mjs';

const FORKS_JS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'js', 'forks.js');
// As in forks.js.
const CHILD = {
  a: { shared: 3, sharedSize: 30011, own: 2, ownSize: 40009 },
  b: { shared: 5, sharedSize: 30013, own: 4, ownSize: 50021 },
};

/** The parent, run under `leaktrace run` once for every test below. */
let cached;
after(() => cached && fs.rmSync(cached.dir, { recursive: true, force: true }));
function session() {
  if (cached) return cached;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'leaktrace-e2e-'));
  const r = run(LEAKTRACE, ['run', '-o', dir, '--format', 'json', '--top', '0', '--', process.execPath, FORKS_JS],
    { env: cleanEnv(), cwd: dir, timeout: 90000 });
  assertStatus(r);
  assert.equal(r.stdout, 'children exited: 0 0\n');
  cached = { dir, r, rep: extractReport(r.stderr) };
  return cached;
}

/** The processes of a report by role: the parent and the children a and b. */
function roles(rep) {
  assert.equal(rep.processes?.length, 3, `three processes: ${JSON.stringify(rep.processes?.map((p) => p.process))}`);
  const by = {};
  for (const p of rep.processes) {
    const args = p.process.command.slice(-2);
    by[args[0] === 'child' ? args[1] : 'parent'] = p;
  }
  assert.deepEqual(Object.keys(by).sort(), ['a', 'b', 'parent'], 'the parent and its two children');
  assert.equal(rep.processes[0], by.parent, 'the parent first: it started first');
  for (const p of rep.processes) assert.equal(p.process.complete, true, `pid ${p.process.pid} complete`);
  return by;
}

/** The sites whose blocks are all of SIZE bytes. */
const ofSize = (sites, size) => sites.filter((s) => s.kind === 'allocation' && s.live_bytes === s.live_blocks * size);

/** The one site across the processes with these live figures. */
function acrossSite(rep, bytes, blocks) {
  const found = rep.across.sites.filter((s) => s.live_bytes === bytes && s.live_blocks === blocks);
  assert.equal(found.length, 1, `one site across with ${bytes} bytes in ${blocks} blocks:\n${describeSites(rep.across.sites.slice(0, 40))}`);
  return found[0];
}

function checkReport(rep, what) {
  const by = roles(rep);
  const { a, b } = CHILD;
  // Each child's own report: the shared function's blocks and its own line's, exactly.
  const lines = markers(FORKS_JS).LEAK;
  for (const [name, c] of Object.entries(CHILD)) {
    const p = by[name];
    const shared = ofSize(p.sites, c.sharedSize);
    assert.equal(shared.length, 1, `${what}: child ${name}: one site of ${c.sharedSize}-byte blocks:\n${describeSites(shared)}`);
    assertLeak(shared[0], c.shared, c.sharedSize, `${what}: child ${name}: leakShared`);
    const own = ofSize(p.sites, c.ownSize);
    assert.equal(own.length, 1, `${what}: child ${name}: one site of ${c.ownSize}-byte blocks`);
    assertLeak(own[0], c.own, c.ownSize, `${what}: child ${name}: its own line`);
    assert.equal(ofSize(by.parent.sites, c.sharedSize).length + ofSize(by.parent.sites, c.ownSize).length, 0,
      `${what}: none of it in the parent`);
    const ticker = p.timers.filter((tm) => tm.kind === 'js');
    assert.equal(ticker.length, 1, `${what}: child ${name}: one JS timer site:\n${describeTimers(p.timers)}`);
    assert.ok(frameAt(ticker[0].frames[0], FORKS_JS, lines.ticker), `${what}: child ${name}: the ticker's line`);
  }
  const children = rep.processes.filter((p) => p !== by.parent).map((p) => p.process.pid);

  // Across: the shared function's site, once, with both children's blocks.
  const shared = acrossSite(rep, a.shared * a.sharedSize + b.shared * b.sharedSize, a.shared + b.shared);
  assert.deepEqual({ kind: shared.kind, allocations: shared.allocations, processes: shared.processes, pids: shared.pids },
    { kind: 'allocation', allocations: a.shared + b.shared, processes: 2, pids: children },
    `${what}: the shared site merged across the two children`);
  assert.equal(shared.frames[0].function, ofSize(by.a.sites, a.sharedSize)[0].frames[0].function,
    `${what}: the frames are the children's`);
  // Each child's own line: one process each.
  for (const [name, c] of Object.entries(CHILD)) {
    const own = acrossSite(rep, c.own * c.ownSize, c.own);
    assert.deepEqual(own.pids, [by[name].process.pid], `${what}: child ${name}'s own site is its own`);
  }
  // The setInterval line of both children: one timer site, 2 live.
  const ticker = rep.across.timers.filter((tm) => tm.kind === 'js');
  assert.equal(ticker.length, 1, `${what}: one JS timer site across:\n${describeTimers(rep.across.timers)}`);
  const { frames, ...figures } = ticker[0];
  assert.deepEqual(figures, { kind: 'js', live: 2, created: 2, repeating: true, interval_ns: 1e9, processes: 2, pids: children },
    `${what}: the ticker across the children`);
  assert.ok(frameAt(frames[0], FORKS_JS, lines.ticker), `${what}: at the ticker's line`);
  return by;
}

test('leaktrace run: the report of the three processes, the shared site merged', (t) => {
  const { r, rep, dir } = session();
  assert.equal(traceFiles(dir).length, 3, `three trace files: ${traceFiles(dir)}`);
  assert.match(r.stderr, /\nleaktrace: report of the 3 processes:\n/);
  checkReport(rep, 'run');
});

test('leaktrace report DIR: JSON, text and markdown', (t) => {
  const { dir } = session();
  const j = run(LEAKTRACE, ['report', '--format', 'json', '--top', '0', dir]);
  assertStatus(j);
  assert.equal(j.stderr, '', 'nothing said');
  const rep = extractReport(j.stdout);
  const by = checkReport(rep, 'report DIR');
  const pids = rep.processes.map((p) => p.process.pid);

  const txt = run(LEAKTRACE, ['report', '--top', '0', dir]);
  assertStatus(txt);
  const { a, b } = CHILD;
  const lines = txt.stdout.split('\n');
  assert.equal(lines[0], '3 processes:', txt.stdout.slice(0, 2000));
  for (const [i, pid] of pids.entries()) {
    const role = Object.keys(by).find((k) => by[k].process.pid === pid);
    // The command, its middle left out when long: its end tells the children apart.
    const tail = role === 'parent' ? 'forks.js' : `forks.js child ${role}`;
    const re = new RegExp(`^  pid ${pid}  \\S*node .*${tail}` +
      // node returning from main exits through libc itself, unseen: no status
      `  ${role === 'parent' ? '(exited|exit status 0)' : 'exit status 0'}  [\\d.]+ s  .* live in \\d+ blocks  ` +
      `${role === 'parent' ? 0 : 1} live timers?  verdicts: `);
    assert.match(lines[1 + i], re, `the line of pid ${pid} (${role})`);
  }
  const bytes = a.shared * a.sharedSize + b.shared * b.sharedSize;
  const children = pids.filter((p) => p !== by.parent.process.pid);
  assert.ok(txt.stdout.includes(`: ${(bytes / 1024).toFixed(1)} KiB (${bytes} bytes) live in ${a.shared + b.shared} blocks ` +
    `in 2 processes (pids ${children.join(', ')}); ${a.shared + b.shared} allocations here`), 'the shared site in the text');
  assert.ok(txt.stdout.includes(`\ntimer #1: js, 2 live of 2 created in 2 processes (pids ${children.join(', ')}), repeating every 1000 ms\n`),
    'the ticker across the children in the text');
  const across = txt.stdout.indexOf('\nleading sites across the 3 processes');
  const sections = pids.map((p) => txt.stdout.indexOf(`\n== ${path.join(dir, `leaktrace.${p}.lt`)} ==\npid ${p}: `));
  assert.ok(across > 0 && sections.every((at, i) => at > across && (i === 0 || at > sections[i - 1])),
    'the sites across the processes, then each process\'s report in order');

  const md = run(LEAKTRACE, ['report', '--format', 'markdown', '--top', '0', dir]);
  assertStatus(md);
  assert.ok(md.stdout.startsWith('## leaktrace: 3 processes\n'), md.stdout.slice(0, 300));
  assert.match(md.stdout, new RegExp(`\\n\\| \\d+ \\| 0 of 2 \\| ${(bytes / 1024).toFixed(1)} KiB \\(${bytes} bytes\\) in 8 blocks \\| ` +
    `${children.join(', ')} \\| `), 'the shared site in the markdown table');
  for (const p of pids) assert.ok(md.stdout.includes(`\n## leaktrace: pid ${p} `), `pid ${p}'s own section`);
});

test('leaktrace report DIR with a damaged trace: its line, status 2, the others reported', (t) => {
  const { dir } = session();
  const copy = tmpdir(t);
  for (const f of fs.readdirSync(dir)) fs.copyFileSync(path.join(dir, f), path.join(copy, f));
  const [first] = traceFiles(copy);
  const damaged = path.join(copy, 'leaktrace.99999.lt');
  fs.writeFileSync(damaged, fs.readFileSync(path.join(copy, first)).subarray(0, 1000));
  fs.writeFileSync(path.join(copy, 'notes.txt'), 'not a trace\n');
  const r = run(LEAKTRACE, ['report', '--format', 'json', '--top', '0', copy]);
  assertStatus(r, 2);
  const errLines = r.stderr.split('\n').filter(Boolean);
  assert.equal(errLines.length, 1, `one line: ${r.stderr}`);
  assert.ok(errLines[0].startsWith(`leaktrace: ${damaged}: `), errLines[0]);
  checkReport(extractReport(r.stdout), 'report DIR with a damaged file');
});
