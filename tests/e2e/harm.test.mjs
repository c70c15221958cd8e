// Never harm the program: the allocator keeps its documented behaviour and
// errno, the output is byte for byte the same, bad settings are said once
// and fall back to the defaults, and a trace file that cannot be made leaves
// the program running, untraced.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import {
  LEAKTRACE, PRELOAD, assertLeak, assertLive, assertStatus, header, markers, prog, report, run, siteAt,
  src, tmpdir, traceFiles, tracedEnv,
} from './lib.mjs';

const HARM = prog('harm');
const HARM_C = src('harm.c');
const DEEP = prog('deep');
const EXECS = prog('execs');

const lines = (s) => s.split('\n').filter((l) => l !== '');

function untraced(args) {
  const r = run(HARM, args);
  assertStatus(r, ['exit', 'quick_exit', 'sysexit'].includes(args[0]) ? Number(args[1]) : 0);
  return r.stdout;
}

test('allocator cases pass traced, with the same output; a failed realloc keeps its block', (t) => {
  const dir = tmpdir(t);
  const plain = untraced([]);
  assert.match(plain, /^\d+ passed, 0 failed$/m);
  const r = run(HARM, [], { env: tracedEnv(dir), cwd: dir });
  assertStatus(r);
  assert.equal(r.stdout, plain, 'stdout byte-identical');
  const rep = report([path.join(dir, `leaktrace.${r.pid}.lt`)]);
  // Everything is freed but the block whose realloc to SIZE_MAX failed: it
  // is still live, still at its malloc line.
  assertLeak(siteAt(rep, HARM_C, markers(HARM_C).LEAK.kept_after_failed_realloc), 1, 16, 'old block');
  assertLive(rep, { live_bytes: 16, live_blocks: 1 });
});

test('exit status passes through, traced and through leaktrace run', (t) => {
  const dir = tmpdir(t);
  const plain = untraced(['exit', '3']);
  const r = run(HARM, ['exit', '3'], { env: tracedEnv(dir), cwd: dir });
  assertStatus(r, 3);
  assert.equal(r.stdout, plain);
  const viaRun = run(LEAKTRACE, ['run', '-o', dir, '--', HARM, 'exit', '3'], { cwd: dir });
  assertStatus(viaRun, 3);
  assert.equal(viaRun.stdout, plain);
  assert.equal(traceFiles(dir).length, 2, `one file per run: ${traceFiles(dir)}`);
  // main returns its status (the C library's own exit, no hook): recorded too.
  for (const f of traceFiles(dir))
    assert.equal(header(path.join(dir, f)).exit_status, 3, `${f}: exit status recorded`);
});

// quick_exit ends by glibc's own _exit, not the hooked one: hooked itself,
// it completes the file. The exit system call passes no hook at all:
// leaktrace run, which saw the status, writes it into the file.
for (const [how, complete, said] of [
  ['quick_exit', true, '(exited, status 44)'],
  ['sysexit', false, "(exited, status 44, past the tracer's exit hooks)"],
]) {
  test(`an exit by ${how}: its status in the trace, and the process not taken for killed`, (t) => {
    const dir = tmpdir(t);
    const r = run(LEAKTRACE, ['run', '-o', dir, '--', HARM, how, '44'], { cwd: dir });
    assertStatus(r, 44);
    assert.equal(r.stdout, untraced([how, '44']));
    assert.equal(r.stdout, `harm: ${how} with 44\n`);
    const [file] = traceFiles(dir);
    const h = header(path.join(dir, file));
    assert.equal(h.exit_status, 44, 'exit status recorded');
    const text = run(LEAKTRACE, ['report', path.join(dir, file)]);
    assertStatus(text);
    assert.ok(text.stdout.split('\n')[0].endsWith(` ${said}`), text.stdout.split('\n')[0]);
    assert.ok(!/did not exit cleanly|killed or crashed/.test(text.stdout), text.stdout);
    const rep = report([path.join(dir, file)]);
    assert.equal(rep.process.complete, complete);
    assert.ok(rep.sites.some((s) => s.live_bytes === 321 && s.live_blocks === 1), 'the block kept');
  });
}

test('a statically linked program: runs, its status passed on, and run says why there is no trace', (t) => {
  const dir = tmpdir(t);
  const r = run(LEAKTRACE, ['run', '-o', dir, '--', prog('static_prog')], { cwd: dir });
  assertStatus(r, 4);
  assert.equal(r.stdout, 'static: allocated\n');
  assert.deepEqual(lines(r.stderr), [`leaktrace: no trace file was written: ${prog('static_prog')} is statically ` +
    'linked: no loader reads LD_PRELOAD for it, and leaktrace cannot trace it']);
  assert.deepEqual(traceFiles(dir), []);
});

// A bad value: one line on stderr more than with a good one, naming the
// variable; the program runs, traced with the default.
function badSetting(t, name, value, program, args, good) {
  const dir = tmpdir(t);
  const base = run(program, args, { env: tracedEnv(dir, { [name]: good }), cwd: dir });
  assertStatus(base);
  const r = run(program, args, { env: tracedEnv(dir, { [name]: value }), cwd: dir });
  assertStatus(r);
  assert.equal(r.stdout, base.stdout, 'output unchanged');
  const said = lines(r.stderr).filter((l) => l.includes(name));
  assert.equal(said.length, 1, `one line naming ${name}: ${r.what}`);
  assert.equal(lines(r.stderr).length, lines(base.stderr).length + 1, `exactly one line more than with ${name}=${good}: ${r.what}`);
  return { dir, r };
}

for (const value of ['abc', '100000']) {
  test(`LEAKTRACE_DEPTH=${value}: one line, traced with depth 64`, (t) => {
    const { dir, r } = badSetting(t, 'LEAKTRACE_DEPTH', value, DEEP, [], '64');
    const file = path.join(dir, `leaktrace.${r.pid}.lt`);
    assert.equal(header(file).depth, 64);
    const rep = report([file]);
    const deep = markers(src('deep.c'));
    const site = siteAt(rep, src('deep.c'), deep.LEAK.deep);
    assertLeak(site, 1, 4242, 'deep');
    assert.ok(site.frames.length > 10, `the whole recursion: ${site.frames.length} frames`);
  });
}

test('LEAKTRACE_FOLLOW=maybe: one line, traced, exec followed as by default', (t) => {
  const { dir, r } = badSetting(t, 'LEAKTRACE_FOLLOW', 'maybe', DEEP, [], '1');
  assertLive(report([path.join(dir, `leaktrace.${r.pid}.lt`)]), { live_bytes: 4242, live_blocks: 1 });

  const d2 = tmpdir(t);
  const e = run(EXECS, ['first', 'execve'], { env: tracedEnv(d2, { LEAKTRACE_FOLLOW: 'maybe' }), cwd: d2 });
  assertStatus(e);
  assert.equal(e.stdout, 'second: tracer preloaded\n');
  assert.deepEqual(traceFiles(d2), [`leaktrace.${e.pid}.lt`, `leaktrace.${e.pid}.2.lt`], 'the new image traced too');
  assert.ok(lines(e.stderr).some((l) => l.includes('LEAKTRACE_FOLLOW')), e.what);
});

// The trace file cannot be made: one line naming the directory, the program
// runs untraced, all its cases pass, its exit status is kept.
function cannotTrace(t, dir, cwd, { harm = HARM, preload, ids = {} } = {}) {
  const env = () => tracedEnv(dir, preload ? { LD_PRELOAD: preload } : {});
  const plain = untraced([]);
  const r = run(harm, [], { env: env(), cwd, ...ids });
  assertStatus(r);
  assert.equal(r.stdout, plain, 'output unchanged');
  assert.equal(lines(r.stderr).length, 1, `one line on stderr: ${r.what}`);
  assert.ok(r.stderr.includes(dir), `the line names ${dir}: ${r.what}`);

  const e = run(harm, ['exit', '3'], { env: env(), cwd, ...ids });
  assertStatus(e, 3);
  assert.equal(e.stdout, untraced(['exit', '3']));
  assert.equal(lines(e.stderr).length, 1, `one line on stderr: ${e.what}`);
  assert.deepEqual(traceFiles(cwd), [], 'no trace file in the working directory');
}

test('LEAKTRACE_DIR=/nonexistent: one line, runs untraced', (t) => {
  const cwd = tmpdir(t);
  assert.ok(!fs.existsSync('/nonexistent'));
  cannotTrace(t, '/nonexistent', cwd);
});

test('LEAKTRACE_DIR unwritable: one line, runs untraced', (t) => {
  const cwd = tmpdir(t);
  const dir = path.join(cwd, 'readonly');
  fs.mkdirSync(dir);
  fs.chmodSync(dir, 0o555);
  if (process.getuid() !== 0) {
    cannotTrace(t, dir, cwd);
  } else {
    // root writes anywhere: run the program as nobody, which cannot. The
    // build tree may sit where nobody cannot reach (a clone under /root), so
    // nobody runs copies of the program and the preload.
    fs.chmodSync(cwd, 0o755);
    const harm = path.join(cwd, 'harm'), preload = path.join(cwd, 'libleaktrace.so');
    fs.copyFileSync(HARM, harm);
    fs.copyFileSync(PRELOAD, preload);
    fs.chmodSync(harm, 0o755);
    fs.chmodSync(preload, 0o755);
    cannotTrace(t, dir, cwd, { harm, preload, ids: { uid: 65534, gid: 65534 } });
  }
  assert.deepEqual(fs.readdirSync(dir), [], 'nothing written in it');
});
