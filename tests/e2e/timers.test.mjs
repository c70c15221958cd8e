// OS timers: tests/programs/timers.c leaves a repeating timerfd, a timerfd
// duplicated and closed once, a POSIX timer and an itimer live (LEAK
// markers), and ends one of each kind properly (ENDED markers). The report's
// "timers" must list exactly the leaked ones, at their lines; a fork child
// keeps the timerfds (descriptors are inherited) and not the others; an exec'd
// image finds the timerfd that had no CLOEXEC, and only that one.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import {
  LEAKTRACE, assertStatus, describeTimers, frameAt, header, inModule, markers, prog, report, run,
  src, tmpdir, traceFiles, tracedEnv,
} from './lib.mjs';

const TIMERS = prog('timers');
const TIMERS_C = src('timers.c');
const marks = markers(TIMERS_C);

// What timers.c leaks: its marker, the function, kind and arming.
const LEAKS = [
  { name: 'timerfd', fn: 'leak_timerfd', kind: 'timerfd', interval_ns: 100e6 },
  // armed once for 10 s, then duplicated with F_DUPFD_CLOEXEC and the first fd closed
  { name: 'dup', fn: 'leak_dup', kind: 'timerfd', interval_ns: 0 },
  { name: 'posix', fn: 'leak_posix', kind: 'posix', interval_ns: 100e6 },
  { name: 'itimer', fn: 'leak_itimer', kind: 'itimer', interval_ns: 1e9 },
];

function line(kind, name) {
  const n = marks[kind]?.[name];
  assert.ok(n, `timers.c has no ${kind}: ${name} marker`);
  return n;
}

/** Asserts that the process's timers are exactly the leaks named, each once. */
function assertLeakedTimers(proc, names, what) {
  const shown = describeTimers(proc.timers);
  assert.equal(proc.timers.length, names.length, `${what}: ${names.length} timer sites:\n${shown}`);
  for (const name of names) {
    const leak = LEAKS.find((l) => l.name === name);
    const at = line('LEAK', name);
    const found = proc.timers.filter((tm) => tm.frames.length && frameAt(tm.frames[0], TIMERS_C, at));
    assert.equal(found.length, 1, `${what}: one timer site at timers.c:${at} (${name}):\n${shown}`);
    const [tm] = found;
    assert.deepEqual(
      { kind: tm.kind, live: tm.live, created: tm.created, repeating: tm.repeating, interval_ns: tm.interval_ns },
      { kind: leak.kind, live: 1, created: 1, repeating: leak.interval_ns > 0, interval_ns: leak.interval_ns },
      `${what}: ${name}`);
    assert.equal(tm.inherited, undefined, `${what}: ${name} is not inherited`);
    assert.equal(tm.frames[0].function, leak.fn, `${what}: ${name}: first frame's function`);
    assert.ok(inModule(tm.frames[0], TIMERS), `${what}: ${name}: first frame in the program`);
    assert.equal(tm.frames[1]?.function, 'main', `${what}: ${name}: called from main`);
    assert.ok(tm.oldest_age_s >= 0 && tm.oldest_age_s < 30, `${what}: ${name}: age ${tm.oldest_age_s} s`);
  }
  const ended = Object.values(marks.ENDED);
  for (const tm of proc.timers)
    for (const f of tm.frames)
      assert.ok(!ended.some((n) => frameAt(f, TIMERS_C, n)), `${what}: an ended timer is listed:\n${shown}`);
}

test('the leaked timers exactly, at their lines; none of the ended ones', (t) => {
  const dir = tmpdir(t);
  const r = run(TIMERS, [], { env: tracedEnv(dir), cwd: dir });
  assertStatus(r);
  assert.match(r.stdout, /^timers: fds \d+ \d+, posix timer made$/m);
  assert.deepEqual(traceFiles(dir), [`leaktrace.${r.pid}.lt`]);
  const rep = report([path.join(dir, `leaktrace.${r.pid}.lt`)]);
  assertLeakedTimers(rep, ['timerfd', 'dup', 'posix', 'itimer'], 'timers');
  // Repeating first: the three repeating ones, then the one-shot timerfd.
  assert.deepEqual(rep.timers.map((tm) => tm.repeating), [true, true, true, false], 'repeating sites first');

  // The text report: the section, and each leak at its file:line.
  const text = run(LEAKTRACE, ['report', path.join(dir, `leaktrace.${r.pid}.lt`)]);
  assertStatus(text);
  assert.match(text.stdout, /\nlive timers: 4 from 4 creation sites \(\d+ created in all\)\n/, text.stdout);
  for (const leak of LEAKS)
    assert.ok(text.stdout.includes(`(${TIMERS_C}:${line('LEAK', leak.name)})`),
      `text report names timers.c:${line('LEAK', leak.name)}:\n${text.stdout}`);
  assert.match(text.stdout, /timer #1: timerfd, 1 live of 1 created, repeating every 100 ms, oldest [\d.]+ s\n/);
  assert.match(text.stdout, /timer #4: timerfd, 1 live of 1 created, one-shot, oldest [\d.]+ s\n/);

  // The markdown report: the table, a row per site, where each was made.
  const md = run(LEAKTRACE, ['report', '--format', 'markdown', path.join(dir, `leaktrace.${r.pid}.lt`)]);
  assertStatus(md);
  assert.match(md.stdout, /\n4 live timers from 4 creation sites \(\d+ created in all\)\.\n\n\| # \| timer \| live \| created \| repeats \| where \|\n/);
  assert.match(md.stdout, new RegExp(`\\n\\| 1 \\| timerfd \\| 1 \\| 1 \\| every 100 ms \\| \`timers\\.c:${line('LEAK', 'timerfd')} \\(leak_timerfd\\)\` \\|\\n`));
  assert.match(md.stdout, new RegExp(`\\n\\| 4 \\| timerfd \\| 1 \\| 1 \\| no \\| \`timers\\.c:${line('LEAK', 'dup')} \\(leak_dup\\)\` \\|\\n`));
});

test('timerfds never armed, or disarmed: said so, not one-shot', (t) => {
  const dir = tmpdir(t);
  const r = run(TIMERS, ['unarmed'], { env: tracedEnv(dir), cwd: dir });
  assertStatus(r);
  const file = path.join(dir, `leaktrace.${r.pid}.lt`);
  const rep = report([file]);
  for (const name of ['never', 'disarmed']) {
    const at = marks.UNARMED[name];
    const tm = rep.timers.find((x) => x.frames.length && frameAt(x.frames[0], TIMERS_C, at));
    assert.ok(tm, `a site at timers.c:${at}: ${describeTimers(rep.timers)}`);
    assert.deepEqual([tm.kind, tm.live, tm.repeating, tm.armed], ['timerfd', 1, false, false], name);
  }
  const text = run(LEAKTRACE, ['report', file]);
  assert.equal((text.stdout.match(/^timer #\d: timerfd, 1 live of 1 created, not armed, oldest [\d.]+ s$/gm) || []).length, 2, text.stdout);
  // An armed one has no "armed" key.
  const other = tmpdir(t);
  const armed = run(TIMERS, [], { env: tracedEnv(other), cwd: other });
  assertStatus(armed);
  const timers = report([path.join(other, `leaktrace.${armed.pid}.lt`)]).timers;
  assert.ok(timers.length === 4 && timers.every((x) => !('armed' in x)), describeTimers(timers));
});

test('fork: the child keeps the timerfds, not the POSIX timer or the itimer', (t) => {
  const dir = tmpdir(t);
  const r = run(TIMERS, ['fork'], { env: tracedEnv(dir), cwd: dir });
  assertStatus(r);
  assert.match(r.stdout, /^child: has the timerfds$/m);
  const files = traceFiles(dir);
  assert.equal(files.length, 2, `a file each for the parent and the child: ${files}`);
  const [parent, child] = files.map((f) => path.join(dir, f)).sort((a, b) => header(a).fork_child - header(b).fork_child);
  assert.equal(header(parent).pid, r.pid, 'the parent is the program run');
  assert.equal(header(child).fork_child, true, 'the other one is its fork child');
  assertLeakedTimers(report([parent]), ['timerfd', 'dup', 'posix', 'itimer'], 'parent');
  assertLeakedTimers(report([child]), ['timerfd', 'dup'], 'child');
});

test('exec: the new image inherits the timerfd without CLOEXEC, and only it', (t) => {
  const dir = tmpdir(t);
  const r = run(TIMERS, ['exec'], { env: tracedEnv(dir), cwd: dir });
  assertStatus(r);
  assert.match(r.stdout, /^after-exec: 1 timerfds$/m, 'the program sees one timerfd after exec');
  assert.deepEqual(traceFiles(dir), [`leaktrace.${r.pid}.lt`, `leaktrace.${r.pid}.2.lt`], 'one file per image');
  const after = report([path.join(dir, `leaktrace.${r.pid}.2.lt`)]);
  assert.deepEqual(after.process.command, [TIMERS, 'after-exec']);
  assert.deepEqual(after.timers.map(({ oldest_age_s, ...tm }) => tm),
    [{ kind: 'timerfd', live: 1, created: 1, repeating: true, interval_ns: 100e6, inherited: true, frames: [] }],
    `the new image's timers:\n${describeTimers(after.timers)}`);
  // The old image had both when it called exec, both from main.
  const before = report([path.join(dir, `leaktrace.${r.pid}.lt`)]);
  assert.equal(before.process.complete, true, 'the old image ended by exec');
  assert.deepEqual(before.timers.map((tm) => [tm.kind, tm.live, tm.frames[0].function]),
    [['timerfd', 1, 'main'], ['timerfd', 1, 'main']], describeTimers(before.timers));
});

// The watchdog pattern: a one-shot real-time timer whose handler ends the
// process, within microseconds of the expiry. The timer fired: it is not
// live (its arming is timed before the call, not after the stack walk).
test('a one-shot itimer whose handler exits: fired, not live', (t) => {
  const dir = tmpdir(t);
  for (let i = 0; i < 5; i++) {
    const r = run(TIMERS, ['watchdog'], { env: tracedEnv(dir), cwd: dir });
    assertStatus(r, 3);
    const proc = report([path.join(dir, `leaktrace.${r.pid}.lt`)]);
    assert.deepEqual(proc.timers, [], `run ${i}: no live timer:\n${describeTimers(proc.timers)}`);
    const check = run(LEAKTRACE, ['check', '--max-live-timers', '0', path.join(dir, `leaktrace.${r.pid}.lt`)]);
    assertStatus(check, 0);
  }
});

// alarm and setitimer(ITIMER_REAL) arm one timer: an itimer set over an
// alarm is a new timer of its own kind and site, repeating, the alarm ended.
test('an alarm armed again by setitimer: one live itimer, at the setitimer line', (t) => {
  const dir = tmpdir(t);
  const r = run(TIMERS, ['rearm'], { env: tracedEnv(dir), cwd: dir });
  assertStatus(r);
  const rep = report([path.join(dir, `leaktrace.${r.pid}.lt`)]);
  assert.deepEqual(rep.timers.map((tm) => [tm.kind, tm.live, tm.created, tm.repeating, tm.interval_ns,
    tm.frames[0].function, tm.frames[0].line]),
  [['itimer', 1, 1, true, 50e9, 'alarm_then_itimer', markers(src('timers.c')).LEAK.rearmed]], describeTimers(rep.timers));
});

// A run of 50 ms has one point of history: no growth can be judged, and a
// check of growth does not pass it (status 3), where a check of timers
// alone does.
test('check on a history too short to judge: status 3 for growth, 0 for timers alone', (t) => {
  const dir = tmpdir(t);
  const r = run(TIMERS, ['watchdog'], { env: tracedEnv(dir), cwd: dir });
  assertStatus(r, 3);
  const file = path.join(dir, `leaktrace.${r.pid}.lt`);
  for (const args of [[], ['--max-growth', '1K'], ['--max-growth', '1K', '--max-live-timers', '0']]) {
    const c = run(LEAKTRACE, ['check', ...args, file]);
    assertStatus(c, 3);
    assert.match(c.stdout, /^.*\.lt: no verdict: the history is too short to judge growth \(\d+ points?, 5 needed\); record longer, or tick faster with LEAKTRACE_TICK_MS\n$/, args.join(' '));
  }
  const timersOnly = run(LEAKTRACE, ['check', '--max-live-timers', '0', file]);
  assertStatus(timersOnly, 0);
  assert.match(timersOnly.stdout, /: ok: within the bounds given \(the history is too short to judge growth/);
  // A directory: its trace files, as report takes them.
  const viaDir = run(LEAKTRACE, ['check', '--max-live-timers', '0', dir]);
  assertStatus(viaDir, 0);
  assert.equal(viaDir.stdout, timersOnly.stdout);
});
