// Children made around fork's handlers, and ends the tracer must not stand
// in the way of (tests/programs/children.c): each process ends as it would
// untraced, within the time limit, and its file says what it did. And
// programs that confine themselves (tests/programs/sandbox.c): seccomp
// filters and strict mode, a new user namespace; the same output traced.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import {
  LEAKTRACE, assertLeak, assertStatus, header, markers, prog, report, run, siteAt, src, tmpdir, traceFiles, tracedEnv,
} from './lib.mjs';

const CHILDREN = prog('children');
const CHILDREN_C = src('children.c');
const KEPT_LINE = markers(CHILDREN_C).LEAK.kept;
const KEPT = 4321;

/** Runs `children ARGS` traced; asserts its status and that it left one file, its own. */
function runIn(t, args, { signal = null, env = {} } = {}) {
  const dir = tmpdir(t);
  const r = run(CHILDREN, args, { env: tracedEnv(dir, env), cwd: dir, timeout: 30000 });
  assert.equal(r.error, undefined, `${args.join(' ')}: ${r.error}`);
  if (signal) assert.equal(r.signal, signal, r.what);
  else assertStatus(r);
  assert.deepEqual(traceFiles(dir), [`leaktrace.${r.pid}.lt`], `${args.join(' ')}: the process's file alone`);
  const file = path.join(dir, `leaktrace.${r.pid}.lt`);
  return { r, file, rep: report([file]) };
}

for (const mode of ['rawclone', 'underfork', 'clonefn']) {
  test(`${mode}: children made without fork's handlers record nothing, the parent's file is its own`, (t) => {
    const { r, file, rep } = runIn(t, [mode, '50']);
    assert.equal(r.stdout, `${mode}: 50 children\n`);
    assert.equal(header(file).complete, true);
    assertLeak(siteAt(rep, CHILDREN_C, KEPT_LINE), 1, KEPT, 'the parent\'s block');
    // The children's malloc(64) and free: not in the parent's figures.
    assert.equal(rep.summary.live_blocks, rep.sites.filter((s) => s.kind === 'allocation')
      .reduce((a, s) => a + s.live_blocks, 0));
    assert.equal(rep.sites.filter((s) => s.frames.some((f) => f.function === 'child_work')).length, 0);
  });
}

test('vfork, a failed exec, _exit: the parent, killed after, did not exit cleanly', (t) => {
  const { file, rep } = runIn(t, ['vforkfail'], { signal: 'SIGKILL' });
  assert.equal(header(file).complete, false, 'the child\'s _exit is not the parent\'s end');
  assertLeak(siteAt(rep, CHILDREN_C, KEPT_LINE), 1, KEPT, 'the parent\'s block');
});

test('the main thread ends with pthread_exit: the process ends when its last thread does', (t) => {
  const { r, file, rep } = runIn(t, ['mainexit']);
  assert.equal(r.stdout, 'mainexit: the worker ends\n');
  assert.equal(header(file).complete, true);
  assertLeak(siteAt(rep, CHILDREN_C, KEPT_LINE), 1, KEPT, 'the worker\'s block');
});

test('threads cancelled while they allocate from new stacks: no lock left held', (t) => {
  const { r } = runIn(t, ['cancel', '50']);
  assert.equal(r.stdout, 'cancel: 50 rounds\n');
});

test('_exit from a signal handler while exit() runs: no deadlock', (t) => {
  for (let i = 0; i < 3; i++) {
    const dir = tmpdir(t);
    const r = run(CHILDREN, ['watchdog', '100000'], { env: tracedEnv(dir), cwd: dir, timeout: 30000 });
    assert.equal(r.error, undefined, `watchdog: ${r.error}`);
    assert.ok(r.status === 0 || r.status === 3, `watchdog: status ${r.status} signal ${r.signal}`);
  }
});

test('forks while a thread is inside dl_iterate_phdr: the children _exit, none hangs', (t) => {
  const { r } = runIn(t, ['dlfork', '5']);
  assert.equal(r.stdout, 'dlfork: 5 children\n');
});

test('execl with 1100 arguments: as many as the kernel takes, not 1024', (t) => {
  const { r } = runIn(t, ['execl', '1100']);
  assert.equal(r.stdout, 'execl: 1100 arguments\n');
});

test('a child forked while recording is paused is not traced, and leaves no file', (t) => {
  const { r } = runIn(t, ['paused'], { env: { LEAKTRACE_START: 'paused' } });
  assert.match(r.stdout, /^child \d+: 0x[0-9a-f]+\n$/);
});

// The least stack on which the coroutine runs untraced: the loader's lazy
// binding of malloc saves the vector registers there, 4 KiB in all where
// they are AVX2's, 5 where they are AVX-512's (XSAVE takes 2.7 KiB more).
function leastCoroStack() {
  for (let kib = 3; kib <= 16; kib++)
    if (run(prog('children'), ['coro', String(kib)], { timeout: 30000 }).status === 0) return kib;
  return assert.fail('the coroutine ran untraced on no stack of up to 16 KiB');
}
const LEAST_KIB = leastCoroStack();

for (const kib of [LEAST_KIB + 2, LEAST_KIB]) {
  test(`a coroutine on a stack of ${kib} KiB allocates: the tracer fits in what is left`, (t) => {
    const plain = run(prog('children'), ['coro', String(kib)], { timeout: 30000 });
    assertStatus(plain);
    const { r, rep } = runIn(t, ['coro', String(kib)]);
    assert.equal(r.stdout, `coro: ${kib} KiB\n`);
    const site = rep.sites.find((s) => s.frames.some((f) => f.function === 'co_deep'));
    assert.ok(site && site.live_blocks === 1, 'the block it kept, at its caller');
  });
}

for (const mode of ['filter', 'tsync', 'strict', 'unshare']) {
  test(`sandbox ${mode}: the same output as untraced${mode === 'unshare' ? '' : ', the tracer stopped before the filter'}`, (t) => {
    const SANDBOX = prog('sandbox');
    const plain = run(SANDBOX, [mode], { timeout: 30000 });
    assertStatus(plain);
    const dir = tmpdir(t);
    const r = run(SANDBOX, [mode], { env: tracedEnv(dir), cwd: dir, timeout: 30000 });
    assertStatus(r);
    assert.equal(r.stdout, plain.stdout, 'the same output');
    if (mode === 'unshare') {
      assert.equal(r.stderr, '');
    } else {
      assert.match(plain.stdout, /^sum \d+\n$/);
      assert.match(r.stderr, /^leaktrace\[\d+\]: a seccomp filter is being installed: recording stops here/);
      assert.equal(r.stderr.split('\n').length, 2, 'one line');
      // Strict mode ends with the exit system call, which no function of
      // the C library sees: its file, like a killed process's, is not complete.
      assert.equal(header(path.join(dir, `leaktrace.${r.pid}.lt`)).complete, mode !== 'strict', 'how its file ended');
    }
  });
}

test('the report of a process still running says so, not that it did not exit cleanly', async (t) => {
  const dir = tmpdir(t);
  const srv = spawn(prog('server'), ['3', '1'], { env: tracedEnv(dir, { LEAKTRACE_TICK_MS: '100' }), cwd: dir });
  const ended = new Promise((resolve) => srv.on('exit', resolve));
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const file = path.join(dir, `leaktrace.${srv.pid}.lt`);
  const running = run(LEAKTRACE, ['report', '--top', '1', file]);
  assertStatus(running);
  assert.match(running.stdout, new RegExp(`^pid ${srv.pid}: .* \\(still running\\)$`, 'm'));
  assert.match(running.stdout, /^note: the process is still running: figures are as of its last update$/m);
  const md = run(LEAKTRACE, ['report', '--format', 'markdown', '--top', '1', file]);
  assertStatus(md);
  assert.match(md.stdout, /^> The process is still running: figures are as of its last update\.$/m);
  assert.doesNotMatch(md.stdout, /did not exit cleanly/);
  // The timeline marks the end of a process that died, not of one running on.
  const svg = path.join(dir, 'running.svg');
  assertStatus(run(LEAKTRACE, ['timeline', '-o', svg, file]));
  assert.doesNotMatch(fs.readFileSync(svg, 'utf8'), /class="end"|did not exit cleanly/);
  assert.equal(await ended, 0);
  const done = run(LEAKTRACE, ['report', '--top', '1', file]);
  assert.match(done.stdout, new RegExp(`^pid ${srv.pid}: .* \\(exited, status 0\\)$`, 'm'));
});

test('daemon() under leaktrace run: the daemon, left running, is waited for and reported', (t) => {
  const dir = tmpdir(t);
  // The parent _exits inside glibc as soon as it forked: run must not look
  // for files before the daemon has made its own. Its stdout is the
  // daemon's too: run() returns when the daemon has ended, 1.5 s on.
  const r = run(LEAKTRACE, ['run', '-o', dir, '--format', 'json', '--', CHILDREN, 'daemon', '1500'], { cwd: dir, timeout: 60000 });
  assertStatus(r);
  const daemon = Number(/^daemon (\d+)\n$/.exec(r.stdout)[1]);
  assert.match(r.stderr, new RegExp(`^  \\S+/leaktrace\\.${daemon}\\.lt  pid ${daemon}  \\S+ daemon 1500  4\\.2 KiB \\(${KEPT} bytes\\) live  still running$`, 'm'), r.stderr);
  const json = JSON.parse(r.stderr.slice(r.stderr.indexOf('{')));
  assert.deepEqual(json.processes.map((p) => p.process.pid).includes(daemon), true, 'the daemon in the report');
  const d = json.processes.find((p) => p.process.pid === daemon);
  assert.equal(d.process.ended, 'still running');
  assert.ok(d.sites.some((s) => s.live_bytes === KEPT && s.frames[0].line === KEPT_LINE), 'its block, at its line');
});

test('killed by a signal under leaktrace run: its file says which, as run saw it', (t) => {
  const dir = tmpdir(t);
  const r = run(LEAKTRACE, ['run', '-o', dir, '--no-report', '--', CHILDREN, 'vforkfail'], { cwd: dir, timeout: 30000 });
  assertStatus(r, 128 + 9);
  const [file] = traceFiles(dir);
  const h = header(path.join(dir, file));
  assert.equal(h.complete, false);
  const text = run(LEAKTRACE, ['report', '--top', '1', path.join(dir, file)]);
  assertStatus(text);
  assert.match(text.stdout, /^pid \d+: .* \(killed by signal 9, SIGKILL\)$/m);
});

test('a library loaded and unloaded 400 times: its module record is taken back, the trace does not grow with it', (t) => {
  const lib = prog('libleaklib.so');
  const size = (n) => {
    const { r, file } = runIn(t, ['dlcycle', String(n), lib]);
    assert.equal(r.stdout, `dlcycle: ${n}\n`);
    return fs.statSync(file).size;
  };
  const few = size(20), many = size(400);
  // A record is 1 KiB: 380 more cycles were 390 KB more before records were taken back.
  assert.ok(many - few < 128 * 1024, `${few} bytes after 20 cycles, ${many} after 400`);
});
