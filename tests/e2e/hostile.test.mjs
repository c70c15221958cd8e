// A program that takes the tracer's ground from under it (hostile.c): the
// descriptors it did not open closed or taken over, as daemons do, and a
// crash handler's small alternate signal stack. The tracer keeps to its own
// descriptors (high, out of the program's numbers; never the program's
// files), and stays within the stack it is given.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import {
  LEAKTRACE, PRELOAD, assertLeak, assertStatus, cleanEnv, frameAt, markers, prog, report, run, siteAt, src, tmpdir,
  traceFiles, tracedEnv,
} from './lib.mjs';

const HOSTILE = prog('hostile');
const HOSTILE_C = src('hostile.c');
const MARK = markers(HOSTILE_C);
const HANDLER_SIZE = 4321, ALT_SIZE = 777, PATTERNS = 512;
const INPUT = 'abcdefghijklmnopqrstuvwxyz\n';

// With 1024 descriptors, the tracer's sit from 512 up: within the reach of
// every mode, and the same on every machine.
function hostile(dir, args, traced) {
  const env = traced ? [`LD_PRELOAD=${PRELOAD}`, `LEAKTRACE_DIR=${dir}`] : [];
  return run('prlimit', ['--nofile=1024:1024', '--', 'env', ...env, HOSTILE, ...args], { env: cleanEnv(), cwd: dir });
}

const lines = (s) => s.split('\n').filter((l) => l !== '' && !l.startsWith('leaktrace: trace of'));
const atRaise = (s) => s.frames.some((f) => frameAt(f, HOSTILE_C, MARK.CALL.raise));

function descriptors(t, mode) {
  const dir = tmpdir(t);
  const input = path.join(dir, 'in.txt');
  const output = (name) => path.join(dir, name);
  fs.writeFileSync(input, INPUT);
  const plain = hostile(dir, ['fds', mode, input, output('plain.out')], false);
  assertStatus(plain);
  const r = hostile(dir, ['fds', mode, input, output('traced.out')], true);
  assertStatus(r);
  // The program's descriptors are the numbers it gets untraced, its files
  // hold what it wrote and nothing of the tracer's, its input is all its.
  assert.match(plain.stdout, /in=3 out=4\n/);
  assert.equal(r.stdout, plain.stdout, `stdout: ${r.what}`);
  assert.equal(fs.readFileSync(output('traced.out'), 'utf8'), `data:${INPUT}`, 'output file');
  assert.equal(fs.readFileSync(input, 'utf8'), INPUT, 'input file');
  const files = traceFiles(dir);
  assert.equal(files.length, 1, `one trace: ${files}`);
  const rep = report([path.join(dir, files[0])], ['--top', '0']);
  // The handler's blocks, from its two signal_me calls.
  const handler = rep.sites.filter((s) => frameAt(s.frames[0], HOSTILE_C, MARK.LEAK.handler));
  assert.deepEqual({ blocks: handler.reduce((a, s) => a + s.live_blocks, 0), bytes: handler.reduce((a, s) => a + s.live_bytes, 0) },
    { blocks: 10, bytes: 10 * HANDLER_SIZE }, 'blocks from the handler');
  // Every pattern's block, recorded after the trace file's descriptor was
  // taken (raw, dup2): the file grew by its path.
  const grown = rep.sites.filter((s) => frameAt(s.frames[0], HOSTILE_C, MARK.LEAK.grow));
  assert.deepEqual({ sites: grown.length, blocks: grown.reduce((a, s) => a + s.live_blocks, 0) },
    { sites: PATTERNS, blocks: PATTERNS }, 'the 512 patterns');
  return { r, handler };
}

for (const mode of ['loop', 'closefrom', 'close_range']) {
  test(`descriptors closed by ${mode}: the tracer's are not the program's to close; stacks whole`, (t) => {
    const { r, handler } = descriptors(t, mode);
    // libunwind (through the signal frame) still had its pipe: the handler's
    // stacks go on to the raise, one site for each call of signal_me.
    assert.equal(handler.length, 2);
    assert.ok(handler.every(atRaise), `handler stacks reach the raise: ${JSON.stringify(handler.map((s) => s.frames.map((f) => f.function)))}`);
    assert.deepEqual(lines(r.stderr), [], 'nothing on stderr');
  });
}

for (const mode of ['raw', 'dup2']) {
  test(`descriptors taken past the hooks (${mode}): the program's files untouched, one line`, (t) => {
    const { r, handler } = descriptors(t, mode);
    // libunwind would read and write the program's files now: not called,
    // the handler's stacks end at the signal frame, said once.
    // One site: both calls' stacks end at the signal frame alike.
    assert.equal(handler.length, 1);
    assert.ok(!atRaise(handler[0]), 'handler stacks cut at the signal frame');
    const said = lines(r.stderr);
    assert.equal(said.length, 1, `one line: ${r.what}`);
    assert.match(said[0], /^leaktrace\[\d+\]: the program closed or replaced the descriptors of libunwind's pipe/);
  });
}

// The tracer's thread, ticking every 10 ms, opens no file: one would take
// the lowest free number, which the program's next open() gets untraced,
// or one its dup2 asks for (EBUSY), and its close would close the
// program's file of that number the round after.
test('descriptors taken and given back in 1000 rounds while the tracer ticks: each number as untraced', (t) => {
  const dir = tmpdir(t);
  const input = path.join(dir, 'in.txt');
  fs.writeFileSync(input, INPUT);
  const r = run('prlimit', ['--nofile=1024:1024', '--', 'env', `LD_PRELOAD=${PRELOAD}`, `LEAKTRACE_DIR=${dir}`,
    'LEAKTRACE_TICK_MS=10', HOSTILE, 'rounds', '1000', input], { env: cleanEnv(), cwd: dir });
  assertStatus(r);
  assert.equal(r.stdout, '1000 rounds\n');
  assert.deepEqual(lines(r.stderr), [], 'nothing on stderr');
  const rep = report([path.join(dir, traceFiles(dir)[0])], ['--top', '0']);
  assertLeak(siteAt(rep, HOSTILE_C, MARK.LEAK.round), 1000, 64, 'a block a round');
  assert.ok(rep.timeline.length >= 2 && rep.timeline.every((p) => p.rss > 0),
    `ticks read /proc/self/statm: ${JSON.stringify(rep.timeline.map((p) => p.rss))}`);
});

function onAltStack(t, size) {
  const dir = tmpdir(t);
  const plain = hostile(dir, ['altstack', String(size), '20'], false);
  assertStatus(plain);
  const r = hostile(dir, ['altstack', String(size), '20'], true);
  assertStatus(r);
  assert.equal(r.stdout, plain.stdout);
  assert.equal(r.stdout, `20 blocks from a handler on a ${size}-byte stack\n`);
  const rep = report([path.join(dir, traceFiles(dir)[0])], ['--top', '0']);
  const alt = siteAt(rep, HOSTILE_C, MARK.LEAK.alt);
  assertLeak(alt, 20, ALT_SIZE, 'blocks from the handler');
  return { rep, alt, dir };
}

for (const size of [4096, 8192, 16384]) {
  test(`a handler on a ${size}-byte alternate stack allocates: runs on, its call site recorded`, (t) => {
    const { alt, dir } = onAltStack(t, size);
    // No room for a walk: the caller alone, said so in the report.
    assert.equal(alt.frames.length, 1, 'the call site alone');
    const text = run(LEAKTRACE, ['report', path.join(dir, traceFiles(dir)[0])]);
    assertStatus(text);
    assert.match(text.stdout, /\(cut short: its outer frames could not be found\)/);
    assert.match(text.stdout, /note: stacks cut short: .*; stacks cut short: 1\n/);
  });
}

test('a handler on a 256 KiB alternate stack: the whole stack, through the signal frame', (t) => {
  const { alt } = onAltStack(t, 256 << 10);
  assert.ok(atRaise(alt), `stack reaches the raise: ${JSON.stringify(alt.frames.map((f) => f.function))}`);
});

// A program that put a file of its own on descriptor 2: the tracer's line
// (here, that the live table is full) is not written into it.
test('stderr closed and a file opened in its place: no line of the tracer in the file', (t) => {
  const dir = tmpdir(t);
  const file = path.join(dir, 'data.txt');
  const r = run(HOSTILE, ['stderr', file], { env: tracedEnv(dir, { LEAKTRACE_MAX_LIVE: '1024' }), cwd: dir });
  assertStatus(r);
  assert.equal(r.stdout, `stderr is ${file}\n`);
  assert.equal(fs.readFileSync(file, 'utf8'), 'DATA\n', 'the file holds what the program wrote');
  const rep = report([path.join(dir, `leaktrace.${r.pid}.lt`)]);
  // What would have been said: the table was full.
  assert.ok(rep.summary.drops?.live_full > 0, `live_full: ${JSON.stringify(rep.summary.drops)}`);
});

// nginx and redis write their process title over the environment's
// strings: a forked worker still writes its trace where LEAKTRACE_DIR said
// (an empty directory name put it in /).
test('the environment overwritten by a process title, then a fork: the child\'s trace in LEAKTRACE_DIR', (t) => {
  const dir = tmpdir(t);
  const r = run(HOSTILE, ['proctitle'], { env: tracedEnv(dir), cwd: '/' });
  assertStatus(r);
  const child = Number(/^child (\d+)$/m.exec(r.stdout)?.[1]);
  assert.ok(child > 0, r.stdout);
  assert.deepEqual(traceFiles(dir), [`leaktrace.${r.pid}.lt`, `leaktrace.${child}.lt`].sort((a, b) => parseInt(a.split('.')[1]) - parseInt(b.split('.')[1])));
  const rep = report([path.join(dir, `leaktrace.${child}.lt`)]);
  assertLeak(siteAt(rep, HOSTILE_C, MARK.LEAK.child), 1, 321, "the child's block");
  // The title, without the hundreds of empty arguments its zeroed space reads as.
  assert.deepEqual(rep.process.command, ['hostile: worker']);
});
