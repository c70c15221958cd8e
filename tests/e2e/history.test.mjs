// Over time: three_sites started paused, recording started in the middle
// with `leaktrace ctl PID start`, two snapshots taken with `ctl snapshot`
// while the program waits; the verdicts must be leak, cache and transient
// at the marked lines, the blocks made before recording must be nowhere,
// check must fail on it and pass without the leak, diff of the snapshots
// must show the leak's growth exactly, and the formats for people (markdown,
// folded stacks, flame graph, timeline) must hold what the JSON holds.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import {
  LEAKTRACE, assertStatus, cleanEnv, describeSites, extractReport, markers, prog, report, run, runThreeSites, siteAt, src,
  tmpdir, tracedEnv,
} from './lib.mjs';

const THREE = prog('three_sites');
const THREE_C = src('three_sites.c');
const M = markers(THREE_C);
const STEPS = 40; // per phase, as three_sites.c says

// ---- well-formed XML, without a library ----
const NAME = /^[A-Za-z_:][-A-Za-z0-9_:.]*/;
function wellFormed(doc) {
  let s = doc.replace(/^<\?xml[^?]*\?>/, '');
  const stack = [];
  let roots = 0;
  const refs = /&(amp|lt|gt|quot|apos|#[0-9]+|#x[0-9a-fA-F]+);/y;
  for (let i = 0; i < s.length;) {
    const c = s[i];
    if (/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/.test(c)) return `control character at ${i}`;
    if (c === '&') {
      refs.lastIndex = i;
      if (!refs.test(s)) return `bad reference at ${i}: ${s.slice(i, i + 12)}`;
      i = refs.lastIndex;
      continue;
    }
    if (c === '>') return `stray '>' at ${i}`;
    if (c !== '<') {
      if (!stack.length && !/\s/.test(c)) return `text outside the root at ${i}`;
      i++;
      continue;
    }
    if (s[i + 1] === '/') {
      const m = NAME.exec(s.slice(i + 2));
      if (!m || stack.pop() !== m[0]) return `mismatched end tag at ${i}`;
      i += 2 + m[0].length;
      while (/\s/.test(s[i])) i++;
      if (s[i++] !== '>') return `bad end tag at ${i}`;
      continue;
    }
    const m = NAME.exec(s.slice(i + 1));
    if (!m) return `bad tag at ${i}`;
    if (!stack.length && roots++) return 'two roots';
    i += 1 + m[0].length;
    for (;;) {
      while (/\s/.test(s[i])) i++;
      if (s[i] === '>' || s.startsWith('/>', i)) break;
      const a = /^([A-Za-z_:][-A-Za-z0-9_:.]*)=(["'])/.exec(s.slice(i));
      if (!a) return `bad attribute at ${i}: ${s.slice(i, i + 30)}`;
      i += a[0].length;
      const end = s.indexOf(a[2], i);
      if (end < 0) return 'unterminated attribute';
      const v = s.slice(i, end);
      if (v.includes('<')) return `'<' in an attribute at ${i}`;
      if (/&(?!(amp|lt|gt|quot|apos|#[0-9]+|#x[0-9a-fA-F]+);)/.test(v)) return `bad reference in an attribute at ${i}`;
      i = end + 1;
    }
    if (s[i] === '/') i += 2;
    else {
      stack.push(m[0]);
      i++;
    }
  }
  if (stack.length) return `${stack.length} elements left open`;
  return roots ? null : 'no root';
}

function assertWellFormed(file) {
  const doc = fs.readFileSync(file, 'utf8');
  const why = wellFormed(doc);
  assert.equal(why, null, `${file} is well-formed XML`);
  assert.ok(!/<script|href=|url\(/.test(doc), `${file}: no script, no link`);
  const xmllint = spawnSync('xmllint', ['--noout', file], { encoding: 'utf8' });
  if (!xmllint.error) assert.equal(xmllint.status, 0, `xmllint: ${xmllint.stderr}`);
  return doc;
}

const attr = (tag, name) => {
  const m = new RegExp(` ${name}="([^"]*)"`).exec(tag);
  return m ? m[1] : undefined;
};

test('three sites recorded from the middle: leak, cache, transient; diff, check and the formats', async (t) => {
  const dir = tmpdir(t);
  const r = await runThreeSites(dir);
  assert.equal(r.code, 0, `three_sites: ${JSON.stringify(r)}`);
  assert.deepEqual(r.lines.slice(1), [
    'phase 1 leaked=40 cache=10 churn=3',
    'phase 2 leaked=80 cache=10 churn=3',
    'phase 3 leaked=120 cache=10 churn=3',
  ]);
  // ctl status at phase 2, the program waiting: the sites' sum, exact (the
  // header's totals are added 64 KiB at a time, and were still 0).
  assert.match(r.status, /^live: 10\.0 KiB in 93 blocks, \d+ stacks, 1 OS timer made$/m,
    `80 leaked, 10 cached, 3 churned blocks:\n${r.status}`);
  const rep = report([r.file]);
  const where = `\n${describeSites(rep.sites)}`;

  const leak = siteAt(rep, THREE_C, M.LEAK.leak);
  const cache = siteAt(rep, THREE_C, M.CACHE.cache);
  const churn = siteAt(rep, THREE_C, M.CHURN.churn);
  assert.deepEqual([leak.verdict, cache.verdict, churn.verdict], ['leak', 'cache', 'transient'],
    `verdicts: ${leak.reason} / ${cache.reason} / ${churn.reason}`);
  assert.deepEqual([leak.live_blocks, leak.live_bytes, leak.allocations], [3 * STEPS, 3 * STEPS * 100, 3 * STEPS]);
  assert.deepEqual([cache.live_blocks, cache.live_bytes, cache.allocations], [10, 2000, 10]);
  // Six periods of a triangle wave of 0..30 blocks: 300 blocks each.
  assert.deepEqual([churn.live_blocks, churn.live_bytes, churn.allocations], [3, 192, 1800]);
  assert.equal(rep.sites[0], leak, 'the leak comes first');
  assert.ok(leak.growth_bytes_per_s > 0 && leak.fit_r2 >= 0.9 && leak.growth_bytes_per_1k_allocations > 0,
    `the leak's figures: ${JSON.stringify(leak).slice(0, 400)}`);
  assert.equal(leak.growth_bytes, 3 * STEPS * 100, 'grew from nothing (paused) to all it holds');

  // The mapping: its own kind of site, a plateau.
  const map = rep.sites.find((s) => s.kind === 'mapping');
  assert.ok(map, `a mapping site:${where}`);
  assert.equal(map.frames[0].line, M.MAP.map);
  assert.deepEqual([map.live_bytes, map.live_blocks, map.verdict], [256 << 10, 1, 'cache']);

  // Blocks made before recording: not a site; their frees took nothing
  // from the figures.
  assert.equal(rep.sites.filter((s) => s.frames.some((f) => f.line === M.PRESTART.prestart)).length, 0,
    `no site of the blocks made before recording${where}`);
  assert.equal(rep.sites.filter((s) => s.kind === 'allocation').length, 3, `only the three sites${where}`);
  assert.deepEqual(rep.summary, {
    live_bytes: 12000 + 2000 + 192, live_blocks: 133, allocations: 1930, frees: 1930 - 133,
    peak_live_bytes: rep.summary.peak_live_bytes,
  });

  // The timeline: paused, then recording; snapshots marked.
  assert.deepEqual(rep.verdicts.leak, 1);
  assert.ok(rep.timeline.length >= 20, `points: ${rep.timeline.length}`);
  assert.equal(rep.timeline[0].live_bytes, 0, 'nothing recorded while paused');
  assert.deepEqual(rep.snapshots.map((s) => s.name), ['first', 'second']);
  const last = rep.timeline.at(-1);
  assert.deepEqual([last.live_bytes, last.live_blocks, last.mapped_bytes, last.timers_live],
    [14192, 133, 256 << 10, 1], 'the last tick is the exit\'s');

  // check: fails on the leak, one line naming it.
  const chk = run(LEAKTRACE, ['check', r.file]);
  assertStatus(chk, 1);
  const lines = chk.stdout.trim().split('\n');
  assert.equal(lines.length, 1, chk.stdout);
  assert.match(lines[0], new RegExp(`^${r.file.replace(/[.]/g, '\\.')}: leak at three_sites\\.c:${M.LEAK.leak} \\(leak_one\\): grew \\+11\\.7 KiB \\(12000 bytes\\)`));
  assertStatus(run(LEAKTRACE, ['check', '--max-growth', '12000', r.file]), 0);

  // diff of the two snapshots: the 40 blocks of phase 2, nothing else.
  const d = run(LEAKTRACE, ['diff', '--format', 'json', `${r.file}@1`, `${r.file}@2`]);
  assertStatus(d);
  const diff = JSON.parse(d.stdout).diff;
  assert.deepEqual([diff.grew, diff.appeared, diff.shrank, diff.disappeared, diff.unchanged], [1, 0, 0, 0, 2]);
  assert.deepEqual([diff.a.snapshot, diff.b.snapshot], ['first', 'second']);
  assert.equal(diff.timers, undefined, 'a snapshot keeps no timers: none compared');
  const [g] = diff.sites;
  assert.equal(g.frames[0].line, M.LEAK.leak);
  assert.deepEqual([g.change, g.blocks_before, g.blocks_after, g.blocks_delta, g.bytes_delta],
    ['grew', STEPS, 2 * STEPS, STEPS, STEPS * 100]);
  // The directory `leaktrace run -o` wrote stands for its one trace file.
  const dd = run(LEAKTRACE, ['diff', '--format', 'json', `${path.dirname(r.file)}@1`, `${path.dirname(r.file)}@2`]);
  assertStatus(dd);
  assert.deepEqual(JSON.parse(dd.stdout).diff.sites, diff.sites);
  const dt = run(LEAKTRACE, ['diff', `${r.file}@first`, `${r.file}@second`]);
  assertStatus(dt);
  assert.match(dt.stdout, /\n#1 grew: \+3\.9 KiB \(\+4000 bytes\), \+40 blocks \(3\.9 KiB -> 7\.8 KiB, 40 -> 80 blocks\)\n  #0 leak_one /);
  // The file against its first snapshot: phases 2 and 3.
  const df = JSON.parse(run(LEAKTRACE, ['diff', '--format', 'json', `${r.file}@first`, r.file]).stdout).diff;
  assert.equal(df.sites[0].blocks_delta, 2 * STEPS);
  // The other way: the leak shrank, the biggest change, first.
  const back = JSON.parse(run(LEAKTRACE, ['diff', '--format', 'json', r.file, `${r.file}@first`]).stdout).diff;
  assert.deepEqual([back.sites[0].change, back.sites[0].blocks_delta, back.sites[0].frames[0].line],
    ['shrank', -2 * STEPS, M.LEAK.leak]);

  // markdown: summary, the table row, the source line quoted.
  const md = run(LEAKTRACE, ['report', '--format', 'markdown', r.file]);
  assertStatus(md);
  assert.match(md.stdout, /\*\*1 site leaks\*\*, 2 caches, 1 transient, 0 unclear\./);
  assert.match(md.stdout, new RegExp(`\\| 1 \\| \\*\\*leak\\*\\* \\| \\+[\\d.]+ KiB/min, .*\\| 11\\.7 KiB \\(12000 bytes\\) in 120 blocks \\| \`three_sites\\.c:${M.LEAK.leak} \\(leak_one\\)\` \\|`));
  assert.ok(md.stdout.includes(`${M.LEAK.leak} | leaked[nleaked++] = malloc(LEAK_SIZE); /* LEAK: leak */\n`), md.stdout);

  // folded stacks: as flamegraph.pl parses them, the live bytes of each site.
  const co = run(LEAKTRACE, ['report', '--format', 'collapsed', r.file]);
  assertStatus(co);
  const folded = co.stdout.trim().split('\n').map((l) => {
    const m = /^(.*)\s+(\d+)$/.exec(l);
    assert.ok(m && !m[1].includes('\n'), `folded line: ${l}`);
    return { frames: m[1].split(';'), bytes: Number(m[2]) };
  });
  assert.equal(folded.length, rep.sites.length);
  assert.deepEqual(folded.map((f) => f.bytes), rep.sites.map((s) => s.live_bytes));
  const lf = folded.find((f) => f.frames.at(-1) === `leak_one (three_sites.c:${M.LEAK.leak})`);
  assert.ok(lf && lf.frames.slice(-3, -1).join(';') === 'main;phase', `leak's folded stack: ${co.stdout}`);

  // the flame graph: well-formed, a frame per function, widths by bytes.
  const flame = path.join(dir, 'flame.svg');
  const fr = run(LEAKTRACE, ['report', '--format', 'svg', r.file]);
  assertStatus(fr);
  fs.writeFileSync(flame, fr.stdout);
  const fdoc = assertWellFormed(flame);
  assert.match(fdoc, new RegExp(`<title>leak_one \\(three_sites\\.c:${M.LEAK.leak}\\) \u2014 11\\.7 KiB \\(12000 bytes\\) live`));

  // the timeline: well-formed; each polyline is the JSON timeline on its axes.
  const tl = path.join(dir, 'timeline.svg');
  assertStatus(run(LEAKTRACE, ['timeline', r.file, '-o', tl]));
  const doc = assertWellFormed(tl);
  const fromDir = run(LEAKTRACE, ['timeline', path.dirname(r.file)]);
  assertStatus(fromDir);
  assert.equal(fromDir.stdout, doc, 'the directory: the chart of its trace file');
  const plot = /<g class="plot"[^>]*>/.exec(doc)[0];
  const [t0, t1, x0, x1] = ['data-t0', 'data-t1', 'data-x0', 'data-x1'].map((k) => Number(attr(plot, k)));
  const panel = {};
  for (const m of doc.matchAll(/<g class="axis"[^>]*>/g)) {
    const g = m[0];
    panel[attr(g, 'data-panel')] = ['data-v1', 'data-y0', 'data-y1'].map((k) => Number(attr(g, k)));
  }
  for (const [series, name] of [['rss', 'memory'], ['live_bytes', 'live'], ['mapped_bytes', 'memory'], ['timers_live', 'timers']]) {
    const pl = new RegExp(`<polyline data-series="${series}" data-pid="${r.pid}"[^>]*>`).exec(doc);
    assert.ok(pl, `a polyline of ${series}`);
    const pts = attr(pl[0], 'points').split(' ').map((p) => p.split(',').map(Number));
    assert.equal(pts.length, rep.timeline.length, `${series}: a point per tick`);
    const [v1, y0, y1] = panel[name];
    pts.forEach(([x, y], i) => {
      const want = rep.timeline[i];
      const tt = t0 + (x - x0) / (x1 - x0) * (t1 - t0);
      const v = (y0 - y) / (y0 - y1) * v1;
      assert.ok(Math.abs(tt - want.t) <= 0.006 * (t1 - t0) / (x1 - x0) + 0.0005, `${series}[${i}] t ${tt} vs ${want.t}`);
      assert.ok(Math.abs(v - want[series]) <= 0.006 * v1 / (y0 - y1), `${series}[${i}] ${v} vs ${want[series]}`);
    });
  }
  for (const s of rep.snapshots)
    assert.ok(doc.includes(`<title>snapshot ${s.name} at ${s.t.toFixed(3)} s</title>`), `snapshot ${s.name} marked`);
  assert.match(doc, /<g class="recording"/, 'the start of recording marked');
  assert.doesNotMatch(doc, /recording-off/, 'never stopped: no stop marked');
});

test('ctl stop: the timeline marks where recording stopped', async (t) => {
  const dir = tmpdir(t);
  const srv = spawn(prog('server'), ['2', '1'], { env: tracedEnv(dir, { LEAKTRACE_TICK_MS: '50' }), cwd: dir });
  const ended = new Promise((resolve) => srv.on('exit', resolve));
  await new Promise((resolve) => setTimeout(resolve, 700));
  assertStatus(run(LEAKTRACE, ['ctl', String(srv.pid), 'stop']));
  assert.equal(await ended, 0);
  const file = path.join(dir, `leaktrace.${srv.pid}.lt`);
  const tl = path.join(dir, 'timeline.svg');
  assertStatus(run(LEAKTRACE, ['timeline', file, '-o', tl]));
  const doc = assertWellFormed(tl);
  const off = /<g class="recording-off" data-t="([\d.]+)">/.exec(doc);
  assert.ok(off, 'the stop marked');
  const at = Number(off[1]);
  assert.ok(at > 0.3 && at < 1.9, `stopped at ${at} s, of a 2 s run`);
  // The reports say so: the text in a note, the JSON in process.
  const rep = report([file]);
  assert.ok(Math.abs(rep.process.recording_stopped_s - at) < 0.2, `stopped at ${rep.process.recording_stopped_s} s`);
  assert.equal(rep.process.recording_started_s, undefined, 'recording started with the process');
  const text = run(LEAKTRACE, ['report', file]);
  assertStatus(text);
  assert.match(text.stdout, /\nnote: recording stopped \d+\.\d s after the process \(ctl stop, or a seccomp filter\): /);
});

test('ctl: a snapshot says its name, a name taken is refused, a state it is in already is said', async (t) => {
  const dir = tmpdir(t);
  const srv = spawn(prog('server'), ['3', '1'], { env: tracedEnv(dir, { LEAKTRACE_TICK_MS: '50' }), cwd: dir });
  const ended = new Promise((resolve) => srv.on('exit', resolve));
  const ctl = (...a) => run(LEAKTRACE, ['ctl', String(srv.pid), ...a]);
  const deadline = Date.now() + 10000;
  while (ctl('status').status !== 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  const file = path.join(dir, `leaktrace.${srv.pid}.lt`);
  const start = ctl('start');
  assert.deepEqual([start.status, start.stdout], [0, `process ${srv.pid}: recording already\n`]);
  const a = ctl('snapshot', 'A');
  assert.deepEqual([a.status, a.stdout], [0, `snapshot 1, A, taken in process ${srv.pid} (${file})\n`]);
  const again = ctl('snapshot', 'A');
  assert.deepEqual([again.status, again.stdout, again.stderr],
    [2, '', `leaktrace: process ${srv.pid} has a snapshot named A already; name this one otherwise\n`]);
  const unnamed = ctl('snapshot');
  assert.deepEqual([unnamed.status, unnamed.stdout], [0, `snapshot 2 taken in process ${srv.pid} (${file})\n`]);
  assertStatus(ctl('stop'));
  const stop = ctl('stop');
  assert.deepEqual([stop.status, stop.stdout], [0, `process ${srv.pid}: stopped already\n`]);
  // Started again: the start is still the process's, the gap is said.
  await new Promise((r) => setTimeout(r, 200));
  const restart = ctl('start');
  assert.deepEqual([restart.status, restart.stdout], [0, `process ${srv.pid}: recording\n`]);
  assert.equal(await ended, 0);
  const rep = report([file]);
  assert.deepEqual(rep.snapshots.map((x) => x.name), ['A', 'snapshot-2']);
  assert.equal(rep.process.recording_started_s, undefined, 'recording started with the process');
  assert.equal(rep.process.recording_stopped_s, undefined, 'recording on at the end');
  assert.equal(rep.process.recording_gaps.count, 1);
  assert.ok(rep.process.recording_gaps.seconds >= 0.15 && rep.process.recording_gaps.seconds < 5,
    `stopped for ${rep.process.recording_gaps.seconds} s`);
  const text = run(LEAKTRACE, ['report', file]);
  assert.match(text.stdout, /\nnote: recording was stopped and started again 1 time, for \d+\.\d s in all \(ctl stop, ctl start\): /);
});

test('without the leak: check passes; live timers have their own bound', async (t) => {
  const dir = tmpdir(t);
  const r = await runThreeSites(dir, ['--no-leak']);
  assert.equal(r.code, 0, JSON.stringify(r));
  const rep = report([r.file]);
  assert.equal(rep.sites.filter((s) => s.frames[0].line === M.LEAK.leak).length, 0);
  assert.equal(siteAt(rep, THREE_C, M.CACHE.cache).verdict, 'cache');
  assert.equal(siteAt(rep, THREE_C, M.CHURN.churn).verdict, 'transient');
  assert.equal(rep.verdicts.leak, 0);
  const ok = run(LEAKTRACE, ['check', r.file]);
  assertStatus(ok, 0);
  assert.match(ok.stdout, /: ok: no leak beyond the bounds in the program's code \(places, the sites of a line summed: 0 leaks, 2 caches, 1 transient, 0 unclear\)\n$/);
  const timers = run(LEAKTRACE, ['check', '--max-live-timers', '0', r.file]);
  assertStatus(timers, 1);
  assert.match(timers.stdout, new RegExp(`1 live timerfd timer at three_sites\\.c:${M.TIMER.timer} \\(main\\), repeating every 1000 ms`));
  assertStatus(run(LEAKTRACE, ['check', '--max-live-timers', '1', r.file]), 0);
});

test('a leak under a load that ended idle, before an exit with much housekeeping: a leak, not a cache', (t) => {
  // The exit's last point counts the teardown's 20 000 allocations, 19
  // times the load's: taken as work, they read as a cache that levelled
  // off while the process worked.
  const LOADIDLE_C = src('loadidle.c');
  const L = markers(LOADIDLE_C);
  const traced = (mode) => {
    const dir = tmpdir(t);
    const r = run(prog('loadidle'), ['600', '400', '20000', mode], { env: tracedEnv(dir, { LEAKTRACE_TICK_MS: '50' }), cwd: dir });
    assertStatus(r);
    const n = Number(/^loadidle: (\d+) requests\n$/.exec(r.stdout)[1]);
    const file = path.join(dir, `leaktrace.${r.pid}.lt`);
    return { n, file, rep: report([file]) };
  };
  const leak = traced('leak');
  const site = siteAt(leak.rep, LOADIDLE_C, L.LEAK.leak);
  assert.deepEqual([site.verdict, site.fit_axis, site.live_blocks], ['leak', 'allocations', leak.n], site.reason);
  // The JSON timeline keeps what the process counted.
  const tl = leak.rep.timeline;
  assert.ok(tl[tl.length - 1].allocations >= 20000 + 2 * leak.n, JSON.stringify(tl.slice(-2)));
  const ck = run(LEAKTRACE, ['check', leak.file]);
  assertStatus(ck, 1);
  assert.match(ck.stdout, new RegExp(`: leak at loadidle\\.c:${L.LEAK.leak} \\(leak\\): grew \\+[^;]*; [^;]* live in ${leak.n} blocks\n$`));
  // A cache that filled early and was read for the rest of the load stays a cache.
  const cache = traced('cache');
  assert.equal(siteAt(cache.rep, LOADIDLE_C, L.CACHE.cache).verdict, 'cache');
  assertStatus(run(LEAKTRACE, ['check', cache.file]), 0);
});

test('growth outside the program\'s code: not judged by check, unless --all-code', (t) => {
  const dir = tmpdir(t);
  const r = run(prog('libcleak'), [], { env: tracedEnv(dir, { LEAKTRACE_TICK_MS: '50' }), cwd: dir });
  assertStatus(r);
  const file = path.join(dir, `leaktrace.${r.pid}.lt`);
  const rep = report([file]);
  // strdup is an allocator's wrapper, not shown: the thread's start is all.
  const copies = rep.sites.filter((s) => s.frames[0].function === 'start_thread');
  assert.equal(copies.length, 1, describeSites(rep.sites));
  assert.deepEqual([copies[0].live_blocks, copies[0].verdict], [50, 'leak']);
  const own = siteAt(rep, src('libcleak.c'), markers(src('libcleak.c')).CACHE.own);
  assert.equal(own.live_blocks, 64);

  const ck = run(LEAKTRACE, ['check', file]);
  assertStatus(ck, 0);
  assert.match(ck.stdout, /: ok: no leak beyond the bounds in the program's code \(places, the sites of a line summed: 0 leaks, \d+ caches?, 0 transient, 0 unclear\); outside it 1 grew as leaks do, the most \+\d+ bytes at [^;]*start_thread\)? \(--all-code judges them\)\n$/);
  const all = run(LEAKTRACE, ['check', '--all-code', file]);
  assertStatus(all, 1);
  const lines = all.stdout.split('\n').filter(Boolean);
  assert.equal(lines.length, 1, all.stdout);
  assert.match(lines[0], /: leak at [^:]*:?\d* ?\(?start_thread\)?: grew .*; \d+ bytes live in 50 blocks$/);
  // The text report's verdicts tell that leak apart too.
  const text = run(LEAKTRACE, ['report', file]);
  assertStatus(text);
  assert.match(text.stdout, /\nverdicts: 1 site leaks \(1 outside the program's code: V8's, node's, the libraries'\), /);
});

test('check cannot pass a trace that lost allocations: the table was full', (t) => {
  const dir = tmpdir(t);
  const r = run(LEAKTRACE, ['run', '-o', dir, '--no-report', '--', process.execPath, '-e', '0'],
    { env: cleanEnv({ LEAKTRACE_MAX_LIVE: '1024' }), cwd: dir });
  assertStatus(r);
  const c = run(LEAKTRACE, ['check', '--max-live', '1G', dir]);
  assertStatus(c, 3);
  assert.match(c.stdout, /^\S+\.lt: cannot pass: \d+ allocations not recorded \(live-allocation table full \(LEAKTRACE_MAX_LIVE\)\): what was lost may hold a leak\n$/);
});

test('run --paused: a program nobody starts records nothing', (t) => {
  const dir = tmpdir(t);
  const r = run(LEAKTRACE, ['run', '--paused', '-o', dir, '--format', 'json', '--', THREE, '--no-leak'],
    { input: '\n\n\n', env: tracedEnv(dir, { LEAKTRACE_TICK_MS: '50', LD_PRELOAD: '' }) });
  assertStatus(r);
  const json = extractReport(r.stderr);
  assert.deepEqual(json.sites.filter((s) => s.kind === 'allocation'), []);
  assert.equal(json.summary.allocations, 0);
  assert.ok(json.timeline.length > 5 && json.timeline.every((p) => p.allocations === 0));
});

// The pid a user finds first ($!, pgrep) is often leaktrace run's: ctl
// names the program's instead of telling them to start it under run.
test('ctl given the pid of leaktrace run: points at the program it traces', async (t) => {
  const dir = tmpdir(t);
  const child = spawn(LEAKTRACE, ['run', '--paused', '--no-report', '-o', dir, '--', prog('three_sites')],
    { env: cleanEnv(), cwd: dir, stdio: ['pipe', 'pipe', 'pipe'] });
  t.after(() => child.kill('SIGKILL'));
  let out = '';
  child.stdout.on('data', (d) => { out += d; });
  const deadline = Date.now() + 20000;
  while (!out.includes('ready') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.ok(out.includes('ready'), `three_sites started: ${out}`);
  const kids = fs.readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim();
  const r = run(LEAKTRACE, ['ctl', String(child.pid), 'status']);
  assertStatus(r, 2);
  assert.equal(r.stderr, `leaktrace: process ${child.pid} is \`leaktrace run\`, not the program it traces: ` +
    `that is process ${kids}\n`);
  assertStatus(run(LEAKTRACE, ['ctl', kids, 'status']));
});
