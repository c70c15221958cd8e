// Limits: a trace directory that fills up (a tiny tmpfs, RLIMIT_FSIZE), one
// that cannot be used (a file, world-writable without the sticky bit), and
// tables smaller than the program needs (LEAKTRACE_MAX_STACKS,
// LEAKTRACE_MAX_LIVE). The program always runs to its end with its own
// output and exit status; the tracer says what it could not do once, counts
// what it dropped, and the figures it does report are exact.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import {
  assertLeak, assertStatus, describeSites, frameAt, markers, prog, report, run, siteAt, src, tmpdir,
  traceFiles, tracedEnv,
} from './lib.mjs';

const OOS = prog('outofspace');
const OOS_C = src('outofspace.c');
const MARK = markers(OOS_C);
const BULK_SIZE = 48, AFTER = 100, AFTER_SIZE = 80; // as in outofspace.c
const leakSize = (p) => 16 + ((p * 7) % 200);
const lines = (s) => s.split('\n').filter((l) => l !== '');

/** The pattern that a leaf site's frames spell: step1 for a 1 bit, outermost bit 0. */
function patternOf(site) {
  const steps = site.frames.map((f) => f.function).filter((f) => f === 'step0' || f === 'step1').reverse();
  return steps.reduce((p, f, bit) => p | (f === 'step1' ? 1 << bit : 0), 0);
}

/** The leaf sites of a report, each checked exact: one block of its pattern's size. */
function leafSites(rep, bits) {
  const leaves = rep.sites.filter((s) => frameAt(s.frames[0], OOS_C, MARK.LEAK.leaf));
  const seen = new Set();
  for (const s of leaves) {
    const p = patternOf(s);
    assert.ok(p < 1 << bits && !seen.has(p), `pattern ${p} once:\n${describeSites([s])}`);
    seen.add(p);
    assertLeak(s, 1, leakSize(p), `leaf of pattern ${p}`);
  }
  return leaves.length;
}

function untraced(args, status = 0) {
  const r = run(OOS, args);
  assertStatus(r, status);
  return r.stdout;
}

/**
 * Runs the program with RLIMIT_FSIZE of `bytes`: prlimit sets it and execs
 * env, untraced, which execs the program with the preload.
 */
function runLimited(bytes, args, dir) {
  const env = Object.entries(tracedEnv(dir)).filter(([k]) => k.startsWith('LEAKTRACE_') || k === 'LD_PRELOAD')
    .map(([k, v]) => `${k}=${v}`);
  return run('prlimit', [`--fsize=${bytes}`, '--', 'env', ...env, OOS, ...args], { cwd: dir });
}

/** A tmpfs of `size` mounted on a fresh directory, or null when mounting is not permitted. */
function tinyTmpfs(t, size) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'leaktrace-tmpfs-'));
  const m = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0755`, 'tmpfs', dir], { encoding: 'utf8' });
  if (m.status !== 0) {
    fs.rmdirSync(dir);
    t.diagnostic(`mount -t tmpfs not permitted (${(m.stderr || m.error?.message || '').trim()})`);
    return null;
  }
  t.after(() => {
    spawnSync('umount', [dir]);
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

/**
 * The program on a trace directory that cannot hold its file: same output
 * and status as untraced, one line on stderr about the file, the file
 * readable, the leaves it did record exact, the rest counted as dropped.
 */
function fillsUp(r, dir, bits, plain, status) {
  assertStatus(r, status);
  assert.equal(r.stdout, plain, 'output unchanged');
  const said = lines(r.stderr);
  assert.equal(said.length, 1, `one line on stderr: ${r.what}`);
  assert.match(said[0], /cannot grow the trace file/, r.what);
  const files = traceFiles(dir);
  assert.deepEqual(files, [`leaktrace.${r.pid}.lt`]);
  const rep = report([path.join(dir, files[0])], ['--top', '0']);
  assert.equal(rep.process.complete, true, 'the file is marked complete');
  const patterns = 1 << bits;
  const recorded = leafSites(rep, bits);
  assert.ok(recorded < patterns, `the file filled up: ${recorded} of ${patterns} leaves recorded`);
  const drops = rep.summary.drops ?? {};
  assert.ok(drops.file_full > 0, `drops: ${JSON.stringify(drops)}`);
  // Each leaf not recorded was two allocations from a new stack (its
  // temporary block and its leak), each counted; a history the tracer could
  // not add for a site it recorded counts too, as no LEAKTRACE_HISTORY_SITES
  // limit (the file, not the setting, stopped it).
  const missed = patterns - recorded;
  assert.equal(drops.history_full, undefined, `the history's limit not blamed: ${JSON.stringify(drops)}`);
  assert.ok(drops.file_full >= 2 * missed - 1 && drops.file_full <= 2 * missed + rep.sites.length + 2,
    `file_full ${drops.file_full} for ${missed} leaves not recorded: ${JSON.stringify(drops)}`);
  return { rep, recorded };
}

for (const size of ['256k', '512k']) {
  test(`trace directory on a ${size} tmpfs (RLIMIT_FSIZE if mount is not permitted): runs on, one line, file readable`, (t) => {
    const bits = 12;
    const args = ['stacks', String(bits), '3'];
    const plain = untraced(args, 3);
    let dir = tinyTmpfs(t, size), r, how;
    if (dir) {
      how = `tmpfs of ${size}`;
      r = run(OOS, args, { env: tracedEnv(dir), cwd: dir });
    } else {
      dir = tmpdir(t);
      how = `RLIMIT_FSIZE of ${size} (prlimit)`;
      r = runLimited(parseInt(size, 10) * 1024, args, dir);
    }
    t.diagnostic(`ran with ${how}`);
    const { recorded } = fillsUp(r, dir, bits, plain, 3);
    t.diagnostic(`${recorded} of ${1 << bits} leaves recorded`);
  });
}

test('RLIMIT_FSIZE of 512 KiB (prlimit): runs on, no SIGXFSZ, one line, file readable', (t) => {
  const bits = 12;
  const args = ['stacks', String(bits), '0'];
  const plain = untraced(args);
  const dir = tmpdir(t);
  const r = runLimited(524288, args, dir);
  const { recorded } = fillsUp(r, dir, bits, plain, 0);
  assert.ok(recorded > 0, 'some leaves recorded before the limit');
  assert.ok(fs.statSync(path.join(dir, `leaktrace.${r.pid}.lt`)).size <= 524288, 'the file stays under the limit');
});

// A full file is not tried again at every allocation: with the disk full,
// each new stack's allocation tried to grow it, three system calls each,
// which made a program 33 times slower.
test('a trace file that cannot grow is not tried again at each allocation', (t) => {
  const bits = 12;
  const dir = tmpdir(t);
  const calls = path.join(dir, 'calls');
  const env = Object.entries(tracedEnv(dir)).filter(([k]) => k.startsWith('LEAKTRACE_') || k === 'LD_PRELOAD')
    .map(([k, v]) => `${k}=${v}`);
  const r = run('strace', ['-f', '-qq', '-o', calls, '-e', 'trace=fallocate,prlimit64', '--', 'prlimit',
    '--fsize=524288', '--', 'env', ...env, OOS, 'stacks', String(bits), '0'], { cwd: dir });
  assertStatus(r);
  const rep = report([path.join(dir, traceFiles(dir)[0])], ['--top', '0']);
  const missed = (1 << bits) - leafSites(rep, bits);
  assert.ok(missed > 1000, `most leaves not recorded: ${missed}`);
  // Those of the program that fit, and a try a second at most after: the
  // program runs for less than a few seconds.
  const tries = lines(fs.readFileSync(calls, 'utf8')).filter((l) => /(fallocate|prlimit64)\(/.test(l));
  assert.ok(tries.length < 100, `${tries.length} fallocate and getrlimit calls for ${missed} leaves not recorded`);
});

// A directory the tracer must not use: one clear line, the program runs
// untraced with its output and status, nothing is written there.
function refused(t, dir, cwd, pattern) {
  const plain = untraced(['stacks', '4', '5'], 5);
  const r = run(OOS, ['stacks', '4', '5'], { env: tracedEnv(dir), cwd });
  assertStatus(r, 5);
  assert.equal(r.stdout, plain, 'output unchanged');
  const said = lines(r.stderr);
  assert.equal(said.length, 1, `one line on stderr: ${r.what}`);
  assert.ok(said[0].includes(dir), `the line names ${dir}: ${r.what}`);
  assert.match(said[0], pattern, r.what);
  assert.match(said[0], /untraced/, r.what);
  assert.deepEqual(traceFiles(cwd), [], 'no trace file in the working directory');
}

test('LEAKTRACE_DIR that is a file: one line, runs untraced, the file untouched', (t) => {
  const cwd = tmpdir(t);
  const file = path.join(cwd, 'not-a-dir');
  fs.writeFileSync(file, 'precious\n');
  refused(t, file, cwd, /Not a directory/);
  assert.equal(fs.readFileSync(file, 'utf8'), 'precious\n');
});

// /proc/1: refused with EPERM by the kernel itself (as root), or EACCES
// (anyone else). Either way one line says why.
test('LEAKTRACE_DIR that cannot be written (/proc/1): one line, runs untraced', (t) => {
  refused(t, '/proc/1', tmpdir(t), /cannot create a trace file in LEAKTRACE_DIR=\/proc\/1 \((Operation not permitted|Permission denied)\)/);
});

test('LEAKTRACE_DIR writable by anyone without the sticky bit: one line, runs untraced', (t) => {
  const cwd = tmpdir(t);
  const dir = path.join(cwd, 'open');
  fs.mkdirSync(dir);
  fs.chmodSync(dir, 0o777);
  refused(t, dir, cwd, /writable by anyone/);
  assert.deepEqual(fs.readdirSync(dir), [], 'nothing written in it');
});

test('LEAKTRACE_DIR writable by anyone with the sticky bit (like /tmp): traced', (t) => {
  const cwd = tmpdir(t);
  const dir = path.join(cwd, 'sticky');
  fs.mkdirSync(dir);
  fs.chmodSync(dir, 0o1777);
  const r = run(OOS, ['stacks', '4', '0'], { env: tracedEnv(dir), cwd });
  assertStatus(r);
  assert.equal(r.stderr, '');
  assert.deepEqual(traceFiles(dir), [`leaktrace.${r.pid}.lt`]);
});

// Tables: LEAKTRACE_MAX_STACKS=300 (its minimum is 256) and
// LEAKTRACE_MAX_LIVE=2000 against 1024 distinct stacks and 5000 live blocks.
const TABLES = { LEAKTRACE_MAX_STACKS: '300', LEAKTRACE_MAX_LIVE: '2000' };
const BITS = 10, NBULK = 5000;
// The live table never holds more than MAX_LIVE blocks, whatever shards
// they fall in, and with one thread it drops a block only when it holds
// that many (preload/live.c).
const LIVE_CAP = 2000;

function tables(t, mode) {
  const args = ['tables', String(BITS), String(NBULK), mode];
  const plain = untraced(args);
  const dir = tmpdir(t);
  const r = run(OOS, args, { env: tracedEnv(dir, TABLES), cwd: dir });
  assertStatus(r);
  assert.equal(r.stdout, plain, 'output unchanged');
  const said = lines(r.stderr);
  assert.equal(said.filter((l) => l.includes('LEAKTRACE_MAX_STACKS')).length, 1, `one line on the stack table: ${r.what}`);
  const rep = report([path.join(dir, `leaktrace.${r.pid}.lt`)], ['--top', '0']);
  const drops = rep.summary.drops ?? {};
  // Every leaf whose stack did not fit: its two allocations dropped, at most
  // one of them recorded; nothing else met a new stack after the table
  // filled.
  const recorded = leafSites(rep, BITS);
  const missed = (1 << BITS) - recorded;
  assert.ok(recorded > 0 && missed > 0, `${recorded} leaves recorded`);
  assert.ok(drops.stacks_full >= 2 * missed - 1 && drops.stacks_full <= 2 * missed,
    `stacks_full ${drops.stacks_full} for ${missed} leaves not recorded: ${JSON.stringify(drops)}`);
  return { rep, drops, r };
}

/** One line on each table, nothing else. */
function saidOnce(r) {
  const said = lines(r.stderr);
  assert.equal(said.filter((l) => l.includes('LEAKTRACE_MAX_LIVE')).length, 1, `one line on the live table: ${r.what}`);
  assert.equal(said.length, 2, `nothing else on stderr: ${r.what}`);
}

test('tables too small, blocks kept: runs on, drops counted, the recorded sites exact', (t) => {
  const { rep, drops, r } = tables(t, 'keep');
  const bulk = siteAt(rep, OOS_C, MARK.LEAK.bulk);
  const live = rep.sites.filter((s) => s.kind === 'allocation').reduce((a, s) => a + s.live_blocks, 0);
  assert.equal(live, LIVE_CAP, `${LIVE_CAP} live blocks tracked with LEAKTRACE_MAX_LIVE=2000, ` +
    `${live} are (${bulk.live_blocks} at the bulk site); drops ${JSON.stringify(drops)}`);
  assert.equal(bulk.live_blocks + (drops.live_full ?? 0), NBULK, 'each bulk block recorded or dropped');
  // The one block of the first call was recorded and freed.
  assert.deepEqual({ live_bytes: bulk.live_bytes, allocations: bulk.allocations, bytes_allocated: bulk.bytes_allocated },
    { live_bytes: bulk.live_blocks * BULK_SIZE, allocations: bulk.live_blocks + 1, bytes_allocated: (bulk.live_blocks + 1) * BULK_SIZE },
    'bulk site');
  saidOnce(r);
});

test('tables too small, blocks freed: nothing negative, room again for new blocks', (t) => {
  const { rep, drops, r } = tables(t, 'free');
  // The frees of blocks that were dropped are ignored: the bulk site ends
  // at zero, not below, and is not listed.
  assert.deepEqual(rep.sites.filter((s) => frameAt(s.frames[0], OOS_C, MARK.LEAK.bulk)), [], 'bulk site gone');
  const after = siteAt(rep, OOS_C, MARK.LEAK.after);
  assert.deepEqual({ live_blocks: after.live_blocks, live_bytes: after.live_bytes, allocations: after.allocations },
    { live_blocks: AFTER, live_bytes: AFTER * AFTER_SIZE, allocations: AFTER + 1 }, 'after the frees, every block recorded');
  assert.ok((drops.live_full ?? 0) >= NBULK - LIVE_CAP && drops.live_full <= NBULK,
    `live_full ${drops.live_full}: the bulk blocks beyond the table`);
  saidOnce(r);
});
