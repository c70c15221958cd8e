// What the end-to-end tests share: where things are, running programs under
// the preload, reading trace-file headers, parsing and checking the JSON
// report, and finding the marked lines in the test programs' sources.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

export const BUILD = process.env.LEAKTRACE_BUILD;
if (!BUILD) throw new Error('LEAKTRACE_BUILD must name the build directory (ctest sets it)');
// LEAKTRACE_ANALYZER runs the whole suite against another build of the
// command (the sanitized leaktrace-asan, in the asan_e2e_* tests).
export const LEAKTRACE = process.env.LEAKTRACE_ANALYZER || path.join(BUILD, 'leaktrace');
export const PRELOAD = path.join(BUILD, 'libleaktrace.so');
const PROGRAMS_SRC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'programs');

/** A test program built by tests/CMakeLists.txt. */
export const prog = (name) => path.join(BUILD, 'tests', name);
/** The source of a test program. */
export const src = (name) => path.join(PROGRAMS_SRC, name);

/** A fresh directory for one test, removed when the test ends. */
export function tmpdir(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'leaktrace-e2e-'));
  t.after(() => {
    removePerfMaps(dir);
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

/**
 * Node run traced writes /tmp/perf-<pid>.map (the tracer asks for it) and
 * leaves it: those of the traces in dir that copied one are removed.
 */
function removePerfMaps(dir) {
  for (const f of fs.readdirSync(dir).filter((n) => n.endsWith('.perf.map'))) {
    const trace = path.join(dir, f.replace(/\.perf\.map$/, '.lt'));
    if (fs.existsSync(trace)) fs.rmSync(`/tmp/perf-${header(trace).pid}.map`, { force: true });
  }
}

/** The environment without anything that would steer the preload. */
export function cleanEnv(extra = {}) {
  const env = {};
  for (const [k, v] of Object.entries(process.env))
    if (!k.startsWith('LEAKTRACE_') && k !== 'LD_PRELOAD' && !k.startsWith('LD_DEBUG')) env[k] = v;
  return { ...env, ...extra };
}

/** The environment of a program traced into dir. */
export function tracedEnv(dir, extra = {}) {
  return cleanEnv({ LD_PRELOAD: PRELOAD, LEAKTRACE_DIR: dir, ...extra });
}

/**
 * Runs a program to its end (killed after `timeout` ms). Returns spawnSync's
 * result, with `what` describing the run for assertion messages.
 */
export function run(file, args, { env = cleanEnv(), cwd, timeout = 60000, input, uid, gid } = {}) {
  const r = spawnSync(file, args, {
    env, cwd, timeout, input, uid, gid,
    encoding: 'utf8',
    maxBuffer: 256 << 20,
    killSignal: 'SIGKILL',
  });
  if (r.error && r.error.code !== 'ETIMEDOUT') throw r.error;
  const shown = Object.entries(env)
    .filter(([k]) => k.startsWith('LEAKTRACE_') || k === 'LD_PRELOAD' || k.startsWith('LD_DEBUG'))
    .map(([k, v]) => `${k}=${v}`);
  r.what = `${[...shown, file, ...args].join(' ')}\n  status ${r.status} signal ${r.signal}` +
    (r.error ? ` (${r.error.code} after ${timeout} ms)` : '') +
    `\n  stderr: ${tail(r.stderr)}`;
  return r;
}

function tail(s, n = 3000) {
  if (!s) return '(empty)';
  return s.length > n ? '...' + s.slice(-n) : s;
}

/** Asserts that a run ended with `status` (and not by a signal or a timeout). */
export function assertStatus(r, status = 0) {
  assert.equal(r.error, undefined, `timed out: ${r.what}`);
  assert.equal(r.signal, null, `killed by a signal: ${r.what}`);
  assert.equal(r.status, status, `exit status: ${r.what}`);
}

/** Trace files in dir, sorted by pid, then by image number. */
export function traceFiles(dir) {
  const key = (f) => f.split('.').slice(1, -1).map(Number);
  return fs.readdirSync(dir)
    .filter((f) => /^leaktrace\.\d+(\.\d+)?\.lt$/.test(f))
    .sort((a, b) => {
      const [pa, ia = 1] = key(a), [pb, ib = 1] = key(b);
      return pa - pb || ia - ib;
    });
}

let layoutCache;
/** The header layout, as format.h gives it (printed by the layout program). */
export function layout() {
  if (!layoutCache) {
    const r = run(prog('layout'), []);
    assertStatus(r);
    layoutCache = JSON.parse(r.stdout);
  }
  return layoutCache;
}

/** A few header fields of a trace file, and its flags decoded. */
export function header(file) {
  const L = layout();
  const buf = Buffer.alloc(4096);
  const fd = fs.openSync(file, 'r');
  try {
    fs.readSync(fd, buf, 0, buf.length, 0);
  } finally {
    fs.closeSync(fd);
  }
  const u32 = (f) => buf.readUInt32LE(L[f].offset);
  const h = {
    magic: buf.subarray(0, L.magic.size).toString('latin1').replace(/\0+$/, ''),
    version: u32('version'),
    flags: u32('flags'),
    pid: u32('pid'),
    ppid: u32('ppid'),
    depth: u32('depth'),
    fork_parent: u32('fork_parent'),
    exec_count: u32('exec_count'),
    perf_map_bytes: Number(buf.readBigUInt64LE(L.perf_map_bytes.offset)),
  };
  // What the process passed to exit() or _exit(), null when it did not.
  h.exit_status = h.flags & L.LT_F_STATUS ? u32('exit_status') : null;
  h.complete = !!(h.flags & L.LT_F_COMPLETE);
  h.exec = !!(h.flags & L.LT_F_EXEC);
  h.fork_child = !!(h.flags & L.LT_F_FORK_CHILD);
  h.perf_map = !!(h.flags & L.LT_F_PERF_MAP);
  h.attached = !!(h.flags & L.LT_F_ATTACHED);
  assert.equal(h.magic, L.LT_MAGIC, `${file}: magic`);
  return h;
}

/**
 * The first JSON object in text that starts with {"tool": ...}, for output
 * where the report follows whatever else the program wrote.
 */
export function extractReport(text) {
  const m = /\{\s*"tool"\s*:/.exec(text);
  assert.ok(m, `no JSON report in:\n${tail(text)}`);
  let depth = 0, inString = false;
  for (let i = m.index; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{') depth++;
    else if (c === '}' && --depth === 0) return checkSchema(JSON.parse(text.slice(m.index, i + 1)));
  }
  assert.fail(`unterminated JSON report in:\n${tail(text)}`);
}

/** `leaktrace report --format json FILE...`: the parsed, schema-checked report. */
export function report(files, args = []) {
  const r = run(LEAKTRACE, ['report', '--format', 'json', ...args, ...files]);
  assertStatus(r);
  let json;
  try {
    json = JSON.parse(r.stdout);
  } catch (e) {
    assert.fail(`report is not JSON (${e.message}): ${r.what}\n  stdout: ${tail(r.stdout)}`);
  }
  return checkSchema(json);
}

/** The processes of a report, whether it has one or several. */
export function processes(rep) {
  return rep.processes ?? [{
    process: rep.process, summary: rep.summary, sites: rep.sites, timers: rep.timers,
    timeline: rep.timeline, snapshots: rep.snapshots, verdicts: rep.verdicts, growth: rep.growth,
  }];
}

const isCount = (n) => Number.isSafeInteger(n) && n >= 0;

/** "stack_cut", when there: how the stack lost its outer frames. */
function checkStackCut(x, where) {
  if ('stack_cut' in x) assert.ok(['depth', 'walk'].includes(x.stack_cut), `${where}: stack_cut ${x.stack_cut}`);
}

function keys(obj, want, optional = [], where) {
  assert.equal(typeof obj, 'object', `${where}: not an object`);
  assert.notEqual(obj, null, `${where}: null`);
  const have = Object.keys(obj).filter((k) => !optional.includes(k)).sort();
  assert.deepEqual(have, [...want].sort(), `${where}: keys`);
}

/** Checks a report against the schema, exactly; returns it. */
export function checkSchema(rep) {
  assert.equal(rep.tool, 'leaktrace');
  assert.equal(rep.version, 1);
  const procs = rep.processes ? rep.processes : [rep];
  if (rep.processes) {
    keys(rep, ['tool', 'version', 'processes', 'across'], [], 'report');
    assert.ok(Array.isArray(rep.processes) && rep.processes.length > 1, 'processes is an array of several');
    checkAcross(rep.across, rep.processes.map((p) => p.process.pid));
  } else {
    keys(rep, ['tool', 'version', 'process', 'summary', 'sites', 'timers', ...HISTORY_KEYS], [], 'report');
  }
  for (const p of procs) {
    if (rep.processes) keys(p, ['process', 'summary', 'sites', 'timers', ...HISTORY_KEYS], [], 'processes[]');
    keys(p.process, ['pid', 'command', 'complete', 'ended'], ['attached', 'recording_started_s', 'recording_stopped_s', 'recording_gaps'], 'process');
  if (p.process.recording_gaps !== undefined) {
    keys(p.process.recording_gaps, ['count', 'seconds'], [], 'recording_gaps');
    assert.ok(isCount(p.process.recording_gaps.count) && p.process.recording_gaps.count > 0, 'recording_gaps.count');
    assert.ok(isNum(p.process.recording_gaps.seconds) && p.process.recording_gaps.seconds >= 0, 'recording_gaps.seconds');
  }
    for (const k of ['recording_started_s', 'recording_stopped_s'])
      if (k in p.process) assert.ok(isNum(p.process[k]) && p.process[k] > 0, `process.${k}`);
    // Only in files of `leaktrace attach`, and then true.
    if ('attached' in p.process) assert.equal(p.process.attached, true, 'process.attached');
    assert.ok(Number.isSafeInteger(p.process.pid) && p.process.pid > 0, 'process.pid');
    assert.ok(Array.isArray(p.process.command) && p.process.command.every((a) => typeof a === 'string'),
      'process.command is an array of strings');
    assert.equal(typeof p.process.complete, 'boolean', 'process.complete');
    assert.ok(typeof p.process.ended === 'string' && p.process.ended.length > 0, 'process.ended');
    keys(p.summary, ['live_bytes', 'live_blocks', 'allocations', 'frees', 'peak_live_bytes'], ['drops'], 'summary');
    for (const [k, v] of Object.entries(p.summary))
      if (k !== 'drops') assert.ok(isCount(v), `summary.${k} = ${v}`);
    // What was not recorded, only when something was: lower-case LT_DROPS names, counts > 0.
    if ('drops' in p.summary) {
      const d = p.summary.drops;
      assert.ok(typeof d === 'object' && d !== null && Object.keys(d).length > 0, 'summary.drops is a non-empty object');
      for (const [k, v] of Object.entries(d)) assert.ok(/^[a-z_]+$/.test(k) && isCount(v) && v > 0, `summary.drops.${k} = ${v}`);
    }
    assert.ok(p.summary.peak_live_bytes >= p.summary.live_bytes, 'peak_live_bytes >= live_bytes');
    assert.ok(Array.isArray(p.sites), 'sites is an array');
    let prev = Infinity, prevLeak = true;
    for (const s of p.sites) {
      keys(s, ['live_bytes', 'live_blocks', 'allocations', 'bytes_allocated', 'frames', ...SITE_HISTORY_KEYS],
        ['stack_cut'], 'site');
      checkStackCut(s, 'site');
      for (const k of ['live_bytes', 'live_blocks', 'allocations', 'bytes_allocated'])
        assert.ok(isCount(s[k]), `site.${k} = ${s[k]}`);
      assert.ok(['allocation', 'mapping'].includes(s.kind), `site.kind = ${s.kind}`);
      if (s.kind === 'allocation') {
        assert.ok(s.live_blocks > 0, 'allocation sites are those with live blocks');
        assert.ok(s.allocations >= s.live_blocks && s.bytes_allocated >= s.live_bytes,
          `site counters consistent: ${JSON.stringify(s).slice(0, 300)}`);
      } else {
        // Mapping sites: live_blocks are regions, allocations the calls that
        // mapped, bytes_allocated the bytes they mapped.
        assert.ok(s.live_bytes > 0, 'mapping sites are those with mapped bytes');
      }
      // Leaks first, each group by live bytes, largest first.
      const leak = s.verdict === 'leak';
      assert.ok(prevLeak || !leak, 'leaks before every other site');
      if (leak !== prevLeak) prev = Infinity;
      assert.ok(s.live_bytes <= prev, 'sites sorted by live bytes, largest first, leaks first');
      prev = s.live_bytes;
      prevLeak = leak;
      assert.ok(Array.isArray(s.frames) && s.frames.length > 0, 'site has frames');
      for (const f of s.frames) checkFrame(f);
      checkSiteHistory(s, p.timeline);
    }
    checkTimers(p.timers);
    checkHistory(p);
    checkGrowth(p);
    checkPlaces(p);
  }
  return rep;
}

/**
 * The places: the sites grouped by the line they are charged to, each site
 * among those shown in one place at most, a place's figures at least those
 * of its sites shown; leaks first, then by live bytes.
 */
function checkPlaces(p) {
  assert.ok(Array.isArray(p.places), 'places is an array');
  const seen = new Set();
  let prev = Infinity, prevLeak = true;
  for (const pl of p.places) {
    const where = `place ${JSON.stringify(pl).slice(0, 300)}`;
    keys(pl, ['where', 'users_code', 'checked', 'heap', 'kind', 'live_bytes', 'live_blocks', 'stacks', 'site_indexes',
      ...SITE_HISTORY_KEYS.filter((k) => k !== 'kind' && k !== 'history')], [], where);
    assert.ok(typeof pl.where === 'string' && pl.where !== '', `${where}: where`);
    assert.ok(typeof pl.users_code === 'boolean' && typeof pl.heap === 'boolean', `${where}: users_code, heap`);
    assert.ok(typeof pl.checked === 'boolean' && (!pl.users_code || pl.checked), `${where}: checked, as the user's code is`);
    assert.ok(!(pl.users_code && pl.heap), `${where}: the user's code or V8's heap, not both`);
    assert.ok(['allocation', 'mapping'].includes(pl.kind), `${where}: kind`);
    assert.ok(VERDICTS.includes(pl.verdict), `${where}: verdict`);
    assert.ok(isCount(pl.stacks) && pl.stacks > 0 && pl.site_indexes.length <= pl.stacks, `${where}: stacks`);
    let bytes = 0;
    for (const i of pl.site_indexes) {
      assert.ok(Number.isSafeInteger(i) && i >= 0 && i < p.sites.length && !seen.has(i), `${where}: site ${i}, once`);
      seen.add(i);
      assert.equal(p.sites[i].kind, pl.kind, `${where}: site ${i} of its kind`);
      bytes += p.sites[i].live_bytes;
    }
    assert.ok(pl.live_bytes >= bytes, `${where}: live_bytes at least its shown sites'`);
    const leak = pl.verdict === 'leak';
    assert.ok(prevLeak || !leak, `${where}: leaks first`);
    if (leak !== prevLeak) prev = Infinity;
    assert.ok(pl.live_bytes <= prev, `${where}: sorted by live bytes`);
    prev = pl.live_bytes;
    prevLeak = leak;
  }
}

/**
 * The sites and timers across the processes of a report: each with the pids
 * that have it (in the order of the processes), sorted as a process's own.
 */
function checkAcross(across, pids) {
  keys(across, ['sites', 'timers'], [], 'across');
  const checkPids = (e, where) => {
    assert.ok(Array.isArray(e.pids) && e.pids.length > 0, `${where}: pids`);
    assert.equal(e.processes, e.pids.length, `${where}: processes is the number of pids`);
    const at = e.pids.map((p) => pids.indexOf(p));
    assert.ok(at.every((i, k) => i >= 0 && (k === 0 || i > at[k - 1])), `${where}: pids of the report's processes, in their order`);
  };
  let prev = Infinity, prevLeak = true;
  for (const s of across.sites) {
    const where = `across site ${JSON.stringify(s).slice(0, 300)}`;
    keys(s, ['kind', 'live_bytes', 'live_blocks', 'allocations', 'bytes_allocated', 'processes', 'pids',
      'leak_in', 'frames'], ['stack_cut'], where);
    checkStackCut(s, where);
    assert.ok(['allocation', 'mapping'].includes(s.kind), `${where}: kind`);
    for (const k of ['live_bytes', 'live_blocks', 'allocations', 'bytes_allocated', 'leak_in'])
      assert.ok(isCount(s[k]), `${where}: ${k}`);
    assert.ok(s.leak_in <= s.processes, `${where}: leak_in at most processes`);
    checkPids(s, where);
    const leak = s.leak_in > 0;
    assert.ok(prevLeak || !leak, `${where}: leaks first`);
    if (leak !== prevLeak) prev = Infinity;
    assert.ok(s.live_bytes <= prev, `${where}: sorted by live bytes`);
    prev = s.live_bytes;
    prevLeak = leak;
    assert.ok(Array.isArray(s.frames) && s.frames.length > 0, `${where}: frames`);
    for (const f of s.frames) checkFrame(f);
  }
  let prevT = null;
  for (const tm of across.timers) {
    const where = `across timer ${JSON.stringify(tm).slice(0, 300)}`;
    keys(tm, ['kind', 'live', 'created', 'repeating', 'interval_ns', 'processes', 'pids', 'frames'], ['inherited', 'stack_cut'], where);
    checkStackCut(tm, where);
    assert.ok(TIMER_KINDS.includes(tm.kind), `${where}: kind`);
    assert.ok(isCount(tm.live) && tm.live > 0 && tm.created >= tm.live, `${where}: live and created`);
    assert.equal(tm.repeating, tm.interval_ns > 0, `${where}: an interval exactly when repeating`);
    checkPids(tm, where);
    for (const f of tm.frames) (tm.kind === 'js' ? checkJsFrame : checkFrame)(f);
    if (prevT) {
      const order = (Number(prevT.repeating) - Number(tm.repeating)) || (prevT.live - tm.live) ||
        (prevT.created - tm.created);
      assert.ok(order >= 0, `${where}: in report order`);
    }
    prevT = tm;
  }
}

export const HISTORY_KEYS = ['timeline', 'snapshots', 'verdicts', 'growth', 'places'];
export const GROWTH_SERIES = ['rss', 'js_heap_used', 'js_heap_total', 'js_external', 'js_array_buffers', 'malloc',
  'mappings', 'timers'];

/** The growth summary: null exactly when there is no timeline, else its series in order and the sites that retain. */
function checkGrowth(p) {
  const g = p.growth;
  if (g === null) {
    assert.equal(p.timeline.length, 0, 'growth is null only without a timeline');
    return;
  }
  keys(g, ['span_s', 'series', 'retention', 'timer_leaks'], [], 'growth');
  assert.ok(Array.isArray(g.timer_leaks), 'growth.timer_leaks');
  for (const tl of g.timer_leaks) {
    const where = `growth timer leak ${JSON.stringify(tl).slice(0, 300)}`;
    keys(tl, ['kind', 'frames', 'live', 'first', 'interval_ns', 'per_minute', 'points'], ['stack_cut'], where);
    checkStackCut(tl, where);
    assert.ok(TIMER_KINDS.includes(tl.kind), `${where}: kind`);
    assert.ok(isCount(tl.live) && tl.live >= 5 && tl.first <= tl.live, `${where}: live, first`);
    assert.ok(isCount(tl.interval_ns) && tl.interval_ns > 0, `${where}: repeating`);
    assert.ok(isNum(tl.per_minute) && tl.per_minute > 0, `${where}: per_minute`);
    assert.ok(isCount(tl.points) && tl.points >= 5, `${where}: points`);
    for (const f of tl.frames) (tl.kind === 'js' ? checkJsFrame : checkFrame)(f);
  }
  assert.ok(isNum(g.span_s) && g.span_s >= 0, `growth.span_s = ${g.span_s}`);
  assert.ok(Array.isArray(g.series) && g.series.length > 0, 'growth.series');
  let prev = -1;
  for (const s of g.series) {
    const where = `growth series ${JSON.stringify(s)}`;
    keys(s, ['name', 'unit', 'first', 'last', 'per_minute'], [], where);
    const at = GROWTH_SERIES.indexOf(s.name);
    assert.ok(at > prev, `${where}: a known name, in order, once`);
    prev = at;
    assert.equal(s.unit, s.name === 'timers' ? 'count' : 'bytes', `${where}: unit`);
    assert.ok(Number.isSafeInteger(s.first) && Number.isSafeInteger(s.last), `${where}: first, last`);
    assert.ok(s.per_minute === null || isNum(s.per_minute), `${where}: per_minute`);
  }
  if (p.timeline.length)
    for (const name of ['rss', 'malloc', 'mappings', 'timers'])
      assert.ok(g.series.some((s) => s.name === name), `growth.series has ${name} with a trace timeline`);
  assert.ok(Array.isArray(g.retention), 'growth.retention');
  let prevRetained = Infinity;
  for (const r of g.retention) {
    const where = `growth retention ${JSON.stringify(r).slice(0, 300)}`;
    keys(r, ['kind', 'frames', 'live', 'bytes_per_timer', 'r2', 'points', 'against', 'in_step_with'], ['stack_cut'], where);
    checkStackCut(r, where);
    assert.ok(Array.isArray(r.in_step_with), `${where}: in_step_with`);
    for (const o of r.in_step_with) {
      keys(o, ['kind', 'frames', 'live'], ['stack_cut'], `${where}: in step`);
      assert.ok(o.kind === 'js' && r.kind === 'js' && isCount(o.live), `${where}: in step, JS sites`);
    }
    assert.ok(TIMER_KINDS.includes(r.kind), `${where}: kind`);
    assert.equal(r.against, r.kind === 'js' ? 'js_heap_used' : 'malloc_and_mappings', `${where}: against`);
    assert.ok(isCount(r.live) && r.live >= 3, `${where}: live`);
    assert.ok(isNum(r.bytes_per_timer) && r.bytes_per_timer > 0, `${where}: bytes_per_timer`);
    assert.ok(isNum(r.r2) && r.r2 >= 0.8 && r.r2 <= 1, `${where}: r2`);
    assert.ok(isCount(r.points) && r.points >= 5, `${where}: points`);
    assert.ok(Array.isArray(r.frames) && r.frames.length > 0, `${where}: frames`);
    for (const f of r.frames) (r.kind === 'js' ? checkJsFrame : checkFrame)(f);
    const retained = r.bytes_per_timer * r.live;
    assert.ok(retained <= prevRetained, `${where}: most retained first`);
    prevRetained = retained;
  }
}
const SITE_HISTORY_KEYS = ['kind', 'verdict', 'reason', 'growth_bytes', 'growth_bytes_per_s',
  'growth_bytes_per_1k_allocations', 'fit_r2', 'fit_axis', 'points', 'history'];
export const VERDICTS = ['leak', 'unclear', 'cache', 'transient'];
const isNum = (n) => typeof n === 'number' && Number.isFinite(n);

/** A site's verdict and its history, one point per point of the timeline. */
function checkSiteHistory(s, timeline) {
  const where = `site ${JSON.stringify(s.frames[0])}`;
  assert.ok(VERDICTS.includes(s.verdict), `${where}: verdict ${s.verdict}`);
  assert.ok(typeof s.reason === 'string' && s.reason !== '', `${where}: reason`);
  assert.ok(s.growth_bytes === null || Number.isSafeInteger(s.growth_bytes), `${where}: growth_bytes`);
  for (const k of ['growth_bytes_per_s', 'growth_bytes_per_1k_allocations', 'fit_r2'])
    assert.ok(s[k] === null || isNum(s[k]), `${where}: ${k} = ${s[k]}`);
  assert.ok(s.fit_r2 === null || (s.fit_r2 >= 0 && s.fit_r2 <= 1), `${where}: fit_r2 in [0, 1]`);
  assert.ok([null, 'time', 'allocations'].includes(s.fit_axis), `${where}: fit_axis`);
  assert.ok(isCount(s.points), `${where}: points`);
  assert.ok(Array.isArray(s.history), `${where}: history`);
  assert.equal(s.history.length, timeline.length, `${where}: a history point per timeline point`);
  s.history.forEach((h, i) => {
    keys(h, ['t', 'bytes', 'blocks'], [], `${where}: history[${i}]`);
    assert.equal(h.t, timeline[i].t, `${where}: history[${i}].t is the timeline's`);
    assert.ok(Number.isSafeInteger(h.bytes) && Number.isSafeInteger(h.blocks), `${where}: history[${i}] figures`);
  });
}

/** The timeline (time-ordered), the snapshots and the verdict counts of a process. */
function checkHistory(p) {
  assert.ok(Array.isArray(p.timeline), 'timeline is an array');
  let prevT = -Infinity, prevAllocs = 0;
  for (const [i, pt] of p.timeline.entries()) {
    const where = `timeline[${i}] ${JSON.stringify(pt)}`;
    keys(pt, ['t', 'live_bytes', 'live_blocks', 'rss', 'allocations', 'mapped_bytes', 'timers_live', 'snapshot'],
      [], where);
    assert.ok(isNum(pt.t) && pt.t >= prevT, `${where}: t in order`);
    for (const k of ['rss', 'allocations', 'timers_live']) assert.ok(isCount(pt[k]), `${where}: ${k}`);
    for (const k of ['live_bytes', 'live_blocks', 'mapped_bytes']) assert.ok(Number.isSafeInteger(pt[k]), `${where}: ${k}`);
    assert.ok(pt.allocations >= prevAllocs, `${where}: allocations never go down`);
    assert.ok(pt.snapshot === null || typeof pt.snapshot === 'string', `${where}: snapshot`);
    prevT = pt.t;
    prevAllocs = pt.allocations;
  }
  assert.ok(Array.isArray(p.snapshots), 'snapshots is an array');
  for (const sn of p.snapshots) {
    keys(sn, ['name', 't', 'live_bytes', 'live_blocks', 'allocations', 'rss'], [], `snapshot ${sn.name}`);
    assert.ok(typeof sn.name === 'string' && isNum(sn.t), `snapshot ${sn.name}`);
  }
  const v = p.verdicts;
  keys(v, [...VERDICTS, 'points', 'span_s', 'tick_ms', 'estimated', 'judged', 'note'], [], 'verdicts');
  assert.equal(v.judged, v.points >= 5, 'verdicts.judged: 5 points or more');
  assert.equal(v.points, p.timeline.length, 'verdicts.points');
  assert.equal(VERDICTS.reduce((a, k) => a + v[k], 0) >= p.sites.length, true, 'a verdict per site');
  assert.equal(typeof v.estimated, 'boolean', 'verdicts.estimated');
  assert.ok(v.note === null || typeof v.note === 'string', 'verdicts.note');
}

export const TIMER_KINDS = ['timerfd', 'posix', 'itimer', 'alarm', 'js'];

/** The live timers of one process: one entry per creation site, in report order. */
function checkTimers(timers) {
  assert.ok(Array.isArray(timers), 'timers is an array');
  let prev = null;
  for (const tm of timers) {
    const where = `timer ${JSON.stringify(tm).slice(0, 300)}`;
    keys(tm, ['kind', 'live', 'created', 'repeating', 'interval_ns', 'oldest_age_s', 'frames'], ['inherited', 'stack_cut', 'armed'], where);
    if ('armed' in tm) assert.ok(tm.armed === false && !tm.repeating && tm.kind !== 'js', `${where}: armed, when said, false`);
    checkStackCut(tm, where);
    assert.ok(TIMER_KINDS.includes(tm.kind), `${where}: kind`);
    assert.ok(isCount(tm.live) && tm.live > 0, `${where}: only sites with live timers are listed`);
    assert.ok(isCount(tm.created) && tm.created >= tm.live, `${where}: created >= live`);
    assert.equal(typeof tm.repeating, 'boolean', `${where}: repeating`);
    assert.ok(isCount(tm.interval_ns), `${where}: interval_ns`);
    assert.equal(tm.repeating, tm.interval_ns > 0, `${where}: an interval exactly when repeating`);
    assert.ok(tm.oldest_age_s === null || (typeof tm.oldest_age_s === 'number' && tm.oldest_age_s >= 0),
      `${where}: oldest_age_s`);
    assert.ok(Array.isArray(tm.frames), `${where}: frames`);
    if ('inherited' in tm) {
      assert.equal(tm.inherited, true, `${where}: inherited is only ever true`);
      assert.notEqual(tm.kind, 'js', `${where}: inherited across exec is for OS timers`);
      assert.deepEqual(tm.frames, [], `${where}: an inherited timer's creation was not seen`);
    } else {
      assert.ok(tm.frames.length > 0, `${where}: has frames`);
    }
    for (const f of tm.frames) {
      if (tm.kind === 'js') checkJsFrame(f);
      else checkFrame(f);
    }
    if (prev) {
      // Sites that keep repeating timers alive first, then by live, then by created.
      const order = (Number(prev.repeating) - Number(tm.repeating)) || (prev.live - tm.live) ||
        (prev.created - tm.created);
      assert.ok(order >= 0, `timers in report order: ${JSON.stringify(prev).slice(0, 200)} before ${where}`);
    }
    prev = tm;
  }
}

/** Where node ran a frame that its script's source map put elsewhere. */
function checkGenerated(f, where) {
  if (!('generated' in f)) return;
  const g = f.generated;
  keys(g, ['file', 'line', 'column'], [], `${where}: generated`);
  assert.ok(typeof g.file === 'string' && g.file !== '', `${where}: generated file`);
  for (const k of ['line', 'column'])
    assert.ok(Number.isSafeInteger(g[k]) && g[k] > 0, `${where}: generated ${k}`);
  assert.ok(typeof f.file === 'string' && Number.isSafeInteger(f.line) && Number.isSafeInteger(f.column),
    `${where}: a mapped frame has a position`);
}

function checkJsFrame(f) {
  const where = `JS frame ${JSON.stringify(f)}`;
  keys(f, ['function', 'file', 'line', 'column'], ['generated'], where);
  assert.ok(f.function === null || (typeof f.function === 'string' && f.function !== ''), `${where}: function`);
  assert.ok(f.file === null || (typeof f.file === 'string' && f.file !== ''), `${where}: file`);
  for (const k of ['line', 'column'])
    assert.ok(f[k] === null || (Number.isSafeInteger(f[k]) && f[k] > 0), `${where}: ${k}`);
  checkGenerated(f, where);
}

export function describeTimers(timers) {
  return timers.map((tm) => `  ${tm.kind}${tm.inherited ? ' (inherited)' : ''}: ${tm.live} live of ${tm.created}, ` +
    `${tm.repeating ? `every ${tm.interval_ns / 1e6} ms` : 'one-shot'}: ` + tm.frames.slice(0, 5).map((f) =>
      `${f.function ?? '??'} ${f.file ? path.basename(f.file) : '??'}:${f.line ?? '?'}` +
      `${f.column ? `:${f.column}` : ''}`).join(' <- ')).join('\n') || '  (none)';
}

const TIERS = ['interpreted', 'baseline', 'maglev', 'optimized', null];

function checkFrame(f) {
  const where = `frame ${JSON.stringify(f)}`;
  if (f.js) {
    // A JS frame, named by node's perf map: no module, a column and a tier.
    keys(f, ['function', 'file', 'line', 'column', 'module', 'address', 'js', 'tier'], ['generated'], where);
    checkGenerated(f, where);
    assert.ok(typeof f.function === 'string' && f.function !== '', `${where}: function`);
    assert.ok(f.column === null || (Number.isSafeInteger(f.column) && f.column > 0), `${where}: column`);
    assert.ok(TIERS.includes(f.tier), `${where}: tier`);
    assert.equal(f.module, null, `${where}: module`);
  } else if (f.v8) {
    // V8's own code (a builtin, a stub), named by the perf map.
    keys(f, ['function', 'file', 'line', 'module', 'address', 'v8'], [], where);
    assert.ok(typeof f.function === 'string' && f.function !== '', `${where}: function`);
    assert.equal(f.module, null, `${where}: module`);
  } else {
    keys(f, ['function', 'file', 'line', 'module', 'address'], ['inlined'], where);
  }
  assert.ok(f.function === null || (typeof f.function === 'string' && f.function !== ''), `${where}: function`);
  assert.ok(f.file === null || (typeof f.file === 'string' && f.file !== ''), `${where}: file`);
  // Our programs are built from absolute paths; system libraries' debug
  // information may give paths relative to a build tree that is not here.
  if (f.file !== null && f.module !== null && real(f.module).startsWith(real(BUILD) + '/'))
    assert.ok(path.isAbsolute(f.file), `${where}: file is absolute`);
  assert.ok(f.line === null || (Number.isSafeInteger(f.line) && f.line > 0), `${where}: line`);
  assert.ok(f.file !== null || f.line === null, `${where}: a line without a file`);
  assert.ok(f.module === null || (typeof f.module === 'string' && path.isAbsolute(f.module)), `${where}: module`);
  assert.match(f.address, /^0x[0-9a-f]+$/, `${where}: address`);
  if ('inlined' in f) assert.equal(typeof f.inlined, 'boolean', `${where}: inlined`);
}

/**
 * Marked lines of a source file: a trailing comment KIND: name, as in
 * `/* LEAK: loop *\/`. Returns { LEAK: { loop: 32, ... }, CALL: {...}, ... }.
 */
export function markers(file) {
  const marks = {};
  fs.readFileSync(file, 'utf8').split('\n').forEach((text, i) => {
    const m = /\/\*\s*([A-Z]+):\s*(\w+)\s*\*\/\s*$/.exec(text);
    if (!m) return;
    const [, kind, name] = m;
    marks[kind] ??= {};
    assert.equal(marks[kind][name], undefined, `${file}: marker ${kind}: ${name} twice`);
    marks[kind][name] = i + 1;
  });
  return marks;
}

const real = (p) => {
  try {
    return fs.realpathSync(p);
  } catch {
    return p;
  }
};

/** Whether a frame is at file:line. */
export function frameAt(f, file, line) {
  return f.file !== null && real(f.file) === real(file) && f.line === line;
}

/** Whether a frame lies in the module at modulePath. */
export function inModule(f, modulePath) {
  return f.module !== null && real(f.module) === real(modulePath);
}

export function describeSites(sites) {
  return sites.map((s) => `  ${s.live_bytes} B in ${s.live_blocks} blocks (${s.allocations} allocs, ` +
    `${s.bytes_allocated} B): ` + s.frames.slice(0, 6).map((f) =>
      `${f.function ?? '??'} ${f.file ? path.basename(f.file) : '??'}:${f.line ?? '?'}` +
      `${f.inlined ? ' (inlined)' : ''} [${f.module ? path.basename(f.module) : '??'}]`).join(' <- ')).join('\n');
}

/** The one site whose innermost frame is at file:line. */
export function siteAt(proc, file, line) {
  const found = proc.sites.filter((s) => frameAt(s.frames[0], file, line));
  assert.equal(found.length, 1,
    `one site at ${path.basename(file)}:${line}, found ${found.length}; sites:\n${describeSites(proc.sites)}`);
  return found[0];
}

/**
 * Asserts a site's exact figures: `blocks` live blocks of `size` bytes each,
 * all allocated from it and none freed.
 */
export function assertLeak(site, blocks, size, what) {
  const got = {
    live_blocks: site.live_blocks, live_bytes: site.live_bytes,
    allocations: site.allocations, bytes_allocated: site.bytes_allocated,
  };
  const want = {
    live_blocks: blocks, live_bytes: blocks * size,
    allocations: blocks, bytes_allocated: blocks * size,
  };
  assert.deepEqual(got, want, `${what}: figures`);
}

/** Asserts the summary's live figures are the sum of the sites', and equal `want`. */
export function assertLive(proc, want) {
  const sum = proc.sites.reduce((a, s) => ({
    live_bytes: a.live_bytes + s.live_bytes, live_blocks: a.live_blocks + s.live_blocks,
  }), { live_bytes: 0, live_blocks: 0 });
  const got = { live_bytes: proc.summary.live_bytes, live_blocks: proc.summary.live_blocks };
  assert.deepEqual(got, sum, `summary live figures equal the sum of the sites:\n${describeSites(proc.sites)}`);
  assert.deepEqual(got, want, `summary live figures:\n${describeSites(proc.sites)}`);
}

/**
 * Runs the three_sites program (a leak, a cache, a churn) traced into dir,
 * started paused with a 50 ms tick and sequenced through its stdin: ctl
 * start after "ready", snapshots "first" and "second" after its first two
 * phases. Resolves with the pid, the lines it printed and its trace file.
 */
export function runThreeSites(dir, args = []) {
  return new Promise((resolve, reject) => {
    const child = spawn(prog('three_sites'), args, {
      env: tracedEnv(dir, { LEAKTRACE_START: 'paused', LEAKTRACE_TICK_MS: '50' }),
      cwd: dir, stdio: ['pipe', 'pipe', 'pipe'],
    });
    const lines = [];
    let stderr = '', status = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`three_sites did not finish in 25 s; saw ${JSON.stringify(lines)}; ${stderr}`));
    }, 25000);
    const ctl = (...a) => {
      const r = run(LEAKTRACE, ['ctl', String(child.pid), ...a]);
      assertStatus(r);
      return r.stdout;
    };
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('error', reject);
    readline.createInterface({ input: child.stdout }).on('line', (text) => {
      lines.push(text);
      try {
        if (text === 'ready') ctl('start');
        else if (text.startsWith('phase 1 ')) ctl('snapshot', 'first');
        else if (text.startsWith('phase 2 ')) {
          status = ctl('status');
          ctl('snapshot', 'second');
        }
        else return;
        child.stdin.write('\n');
      } catch (e) {
        child.kill('SIGKILL');
        reject(e);
      }
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ pid: child.pid, code, signal, lines, stderr, status, file: path.join(dir, `leaktrace.${child.pid}.lt`) });
    });
  });
}
