// What the tracer trusts: nothing planted at a trace file's name is followed
// or overwritten, trace files are 0600 whatever the umask, the control
// channel obeys only the process's own user (root aside), and setuid and
// setgid programs are never traced. Runs as root (as CI does): the cases that
// need another user are run as nobody; without root they are skipped.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { test } from 'node:test';
import {
  LEAKTRACE, PRELOAD, assertLeak, assertStatus, header, markers, prog, report, run, siteAt, src, tmpdir,
  traceFiles, tracedEnv,
} from './lib.mjs';

const PLANT = prog('plant');
const DEEP = prog('deep');
const DEEP_C = src('deep.c');
const DEEP_LEAK = markers(DEEP_C).LEAK.deep;
const NOBODY = { uid: 65534, gid: 65534 };
const isRoot = process.getuid() === 0;
const lines = (s) => s.split('\n').filter((l) => l !== '');

const digest = (file) => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
/** What must not change of a planted thing: its type, mode, owner, times and bytes. */
function fingerprint(file) {
  const st = fs.lstatSync(file);
  return {
    type: st.isSymbolicLink() ? `link to ${fs.readlinkSync(file)}` : st.isFIFO() ? 'fifo' : st.isFile() ? 'file' : 'other',
    mode: st.mode, uid: st.uid, size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs,
    sha: st.isFile() ? digest(file) : null,
  };
}

/** A trace file's mode bits. */
const modeOf = (file) => fs.statSync(file).mode & 0o7777;

/**
 * Runs deep (one leak of 4242 bytes) traced through plant, which puts
 * `specs` at the names its trace file will get. Returns the child's pid and
 * the names in the directory.
 */
function plantAndRun(dir, specs) {
  const env = tracedEnv(dir);
  delete env.LD_PRELOAD; // plant sets it for the child alone
  const r = run(PLANT, [dir, PRELOAD, ...specs, '--', DEEP], { env, cwd: dir, timeout: 20000 });
  assertStatus(r);
  const pid = Number(/^child (\d+)$/m.exec(r.stdout)?.[1]);
  assert.ok(pid > 0, r.what);
  assert.match(r.stdout, /^deep: leaked$/m, 'the program ran');
  return { pid, r };
}

/** The one trace file deep wrote: at `name`, mode 0600 under umask 0, its leak exact. */
function assertTraceAt(dir, name, pid) {
  const file = path.join(dir, name);
  assert.equal(fs.lstatSync(file).isFile(), true, `${name} is a regular file`);
  assert.equal(modeOf(file), 0o600, `${name}: mode 0600 although the program ran with umask 0`);
  const h = header(file);
  assert.equal(h.pid, pid);
  assert.equal(h.exec_count, 0, `${name}: not the successor of a planted file`);
  const rep = report([file]);
  assertLeak(siteAt(rep, DEEP_C, DEEP_LEAK), 1, 4242, `${name}: deep's leak`);
}

/** A real trace file, to forge from. */
function realTrace(t) {
  const dir = tmpdir(t);
  const r = run(DEEP, [], { env: tracedEnv(dir), cwd: dir });
  assertStatus(r);
  return path.join(dir, `leaktrace.${r.pid}.lt`);
}

test('a symlink at the trace file\'s name to an existing file: not followed, the target untouched, .2.lt used', (t) => {
  const dir = tmpdir(t);
  const target = path.join(dir, 'precious');
  fs.writeFileSync(target, 'precious data\n', { mode: 0o644 });
  const before = fingerprint(target);
  const { pid } = plantAndRun(dir, [`symlink:.lt:${target}`]);
  assert.deepEqual(fingerprint(target), before, 'target untouched');
  assert.equal(fs.readlinkSync(path.join(dir, `leaktrace.${pid}.lt`)), target, 'the link is still there');
  assert.deepEqual(traceFiles(dir), [`leaktrace.${pid}.lt`, `leaktrace.${pid}.2.lt`]);
  assertTraceAt(dir, `leaktrace.${pid}.2.lt`, pid);
});

test('a dangling symlink at the name: its target is not created', (t) => {
  const dir = tmpdir(t);
  const target = path.join(dir, 'created-through-link');
  const { pid } = plantAndRun(dir, [`symlink:.lt:${target}`]);
  assert.equal(fs.existsSync(target), false, 'nothing created through the link');
  assertTraceAt(dir, `leaktrace.${pid}.2.lt`, pid);
});

test('symlinks at .lt and .2.lt: neither followed, .3.lt used', (t) => {
  const dir = tmpdir(t);
  const a = path.join(dir, 'a'), b = path.join(dir, 'b');
  fs.writeFileSync(a, 'a\n');
  fs.writeFileSync(b, 'b\n');
  const fa = fingerprint(a), fb = fingerprint(b);
  const { pid } = plantAndRun(dir, [`symlink:.lt:${a}`, `symlink:.2.lt:${b}`]);
  assert.deepEqual([fingerprint(a), fingerprint(b)], [fa, fb], 'targets untouched');
  assertTraceAt(dir, `leaktrace.${pid}.3.lt`, pid);
});

test('an existing file at the name: never overwritten, .2.lt used', (t) => {
  const dir = tmpdir(t);
  const { pid } = plantAndRun(dir, ['file:.lt']);
  const planted = path.join(dir, `leaktrace.${pid}.lt`);
  assert.equal(fs.readFileSync(planted, 'utf8'), 'planted\n');
  assert.equal(modeOf(planted), 0o644);
  assertTraceAt(dir, `leaktrace.${pid}.2.lt`, pid);
});

test('a named pipe at the name: no hang, left alone, .2.lt used', (t) => {
  const dir = tmpdir(t);
  const { pid } = plantAndRun(dir, ['fifo:.lt']);
  assert.equal(fs.lstatSync(path.join(dir, `leaktrace.${pid}.lt`)).isFIFO(), true);
  assertTraceAt(dir, `leaktrace.${pid}.2.lt`, pid);
});

test('a forged trace of an "earlier image" owned by another user: not modified', { skip: !isRoot && 'needs root' }, (t) => {
  const source = realTrace(t);
  const dir = tmpdir(t);
  // plant makes a copy whose header names the child (pid and start time),
  // as a predecessor of the same process would, but owned by nobody.
  const { pid } = plantAndRun(dir, [`forge:.lt:${source}`]);
  const forged = path.join(dir, `leaktrace.${pid}.lt`);
  const h = header(forged);
  assert.equal(h.pid, pid, 'the forgery names the child');
  assert.equal(h.exec, false, 'not marked as ended by exec: the tracer wrote nothing into it');
  assert.equal(fs.statSync(forged).uid, 65534);
  assertTraceAt(dir, `leaktrace.${pid}.2.lt`, pid);
});

// The control channel. busy runs until killed; it says "ready" once going.
function startBusy(t, dir, { uid, gid, file = prog('busy'), preload = PRELOAD, env = {} } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(file, ['30'], {
      env: tracedEnv(dir, { LD_PRELOAD: preload, ...env }), cwd: dir, uid, gid, stdio: ['ignore', 'pipe', 'pipe'],
    });
    t.after(() => child.kill('SIGKILL'));
    let stderr = '';
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('error', reject);
    child.on('exit', (code, signal) => reject(new Error(`busy ended early: ${code} ${signal} ${stderr}`)));
    readline.createInterface({ input: child.stdout }).on('line', (l) => {
      if (l === 'ready') resolve(child);
    });
  });
}

/** A directory everyone can enter, with copies of what nobody must run (the build may sit under /root). */
function sharedCopies(t, names) {
  const dir = tmpdir(t);
  fs.chmodSync(dir, 0o755);
  const out = {};
  for (const [name, from] of Object.entries(names)) {
    out[name] = path.join(dir, path.basename(from));
    fs.copyFileSync(from, out[name]);
    fs.chmodSync(out[name], 0o755);
  }
  return { dir, ...out };
}

/** A trace directory owned by nobody, inside `parent`. */
function nobodysDir(parent, name = 'traces') {
  const dir = path.join(parent, name);
  fs.mkdirSync(dir, { mode: 0o700 });
  fs.chownSync(dir, NOBODY.uid, NOBODY.gid);
  return dir;
}

test('ctl from another user (nobody) on root\'s process: refused, exit 2, one clear line; nothing done', { skip: !isRoot && 'needs root' }, async (t) => {
  const bin = sharedCopies(t, { leaktrace: LEAKTRACE });
  const dir = tmpdir(t);
  const child = await startBusy(t, dir);
  const pid = String(child.pid);
  const file = path.join(dir, `leaktrace.${pid}.lt`);

  for (const target of [pid, file]) {
    for (const verb of ['status', 'snapshot', 'stop']) {
      const r = run(bin.leaktrace, ['ctl', target, verb], { ...NOBODY, cwd: bin.dir, timeout: 10000 });
      assert.equal(r.status, 2, `exit 2: ${r.what}`);
      assert.equal(r.stdout, '', `nothing on stdout: ${r.what}`);
      assert.equal(lines(r.stderr).length, 1, `one line: ${r.what}`);
      assert.match(r.stderr, /^leaktrace: /, r.what);
      assert.match(r.stderr, /permission|owner|not allowed/i, `says it is not permitted: ${r.what}`);
    }
  }
  // Nothing reached the process: root finds it recording, without snapshots.
  const st = run(LEAKTRACE, ['ctl', pid, 'status'], { timeout: 10000 });
  assertStatus(st);
  assert.match(st.stdout, /: recording$/m, st.stdout);
  assert.match(st.stdout, /, 0 snapshots$/m, st.stdout);
});

test('ctl by nobody on nobody\'s process: obeyed; root may too', { skip: !isRoot && 'needs root' }, async (t) => {
  const bin = sharedCopies(t, { leaktrace: LEAKTRACE, busy: prog('busy'), preload: PRELOAD });
  const dir = nobodysDir(bin.dir);
  const child = await startBusy(t, dir, { ...NOBODY, file: bin.busy, preload: bin.preload });
  const pid = String(child.pid);
  const snap = run(bin.leaktrace, ['ctl', pid, 'snapshot', 'by-nobody'], { ...NOBODY, cwd: bin.dir, timeout: 10000 });
  assertStatus(snap);
  assert.match(snap.stdout, new RegExp(`^snapshot 1, by-nobody, taken in process ${pid} `), snap.stdout);
  const st = run(bin.leaktrace, ['ctl', pid, 'status'], { ...NOBODY, cwd: bin.dir, timeout: 10000 });
  assertStatus(st);
  assert.match(st.stdout, /, 1 snapshot$/m, st.stdout);
  const byRoot = run(LEAKTRACE, ['ctl', pid, 'snapshot', 'by-root'], { timeout: 10000 });
  assertStatus(byRoot);
  assert.match(byRoot.stdout, /^snapshot 2, by-root, taken/, byRoot.stdout);
});

test('ctl by nobody on an undumpable process of nobody\'s: said why, and how to reach it', { skip: !isRoot && 'needs root' }, async (t) => {
  const bin = sharedCopies(t, { leaktrace: LEAKTRACE, busy: prog('busy'), preload: PRELOAD });
  const dir = nobodysDir(bin.dir);
  const child = await startBusy(t, dir, { ...NOBODY, file: bin.busy, preload: bin.preload, env: { BUSY_UNDUMPABLE: '1' } });
  const st = run(bin.leaktrace, ['ctl', String(child.pid), 'status'], { ...NOBODY, cwd: bin.dir, timeout: 10000 });
  assertStatus(st, 2);
  assert.equal(st.stderr, `leaktrace: process ${child.pid}: cannot read its memory map (Permission denied) (the process ` +
    'made itself undumpable, prctl(PR_SET_DUMPABLE, 0): only root can read its map); name its trace file instead of its pid\n');
  // Named by its file, it answers.
  const byFile = run(bin.leaktrace, ['ctl', path.join(dir, `leaktrace.${child.pid}.lt`), 'status'], { ...NOBODY, cwd: bin.dir, timeout: 10000 });
  assertStatus(byFile);
  assert.match(byFile.stdout, /: recording$/m);
});

// setuid and setgid programs. secure_probe tells whether the loader ran it
// in secure mode (AT_SECURE) and whether libleaktrace.so is loaded.
function secureCopies(t, mode, owner = { uid: 0, gid: 0 }) {
  const bin = sharedCopies(t, { plain: prog('secure_probe'), preload: PRELOAD });
  // Two copies of the probe: the privileged one, and one without privileges.
  const priv = path.join(bin.dir, 'secure_probe_priv');
  fs.copyFileSync(bin.plain, priv);
  fs.chownSync(priv, owner.uid, owner.gid);
  fs.chmodSync(priv, mode);
  const traces = nobodysDir(bin.dir);
  return { ...bin, priv, traces };
}

/** The probe's first line, parsed. */
function probeSays(r) {
  const m = /^secure (\d+) preloaded (yes|no) LD_PRELOAD=(.*)$/m.exec(r.stdout);
  assert.ok(m, `probe output: ${r.what}\n  stdout: ${r.stdout}`);
  return { secure: Number(m[1]), preloaded: m[2] === 'yes', ldPreload: m[3] };
}

for (const [kind, mode] of [['setuid', 0o4755], ['setgid', 0o2755]]) {
  test(`a ${kind} program run by nobody with LD_PRELOAD: not traced, no file`, { skip: !isRoot && 'needs root' }, (t) => {
    const b = secureCopies(t, mode);
    const env = tracedEnv(b.traces, { LD_PRELOAD: b.preload });
    // Control: the same program without privileges is traced.
    const plain = run(b.plain, [], { env, ...NOBODY, cwd: b.dir });
    assertStatus(plain);
    assert.deepEqual(probeSays(plain), { secure: 0, preloaded: true, ldPreload: b.preload }, 'the plain copy is traced');
    assert.equal(traceFiles(b.traces).length, 1, 'the plain copy wrote a file');
    fs.rmSync(path.join(b.traces, traceFiles(b.traces)[0]));

    const r = run(b.priv, [], { env, ...NOBODY, cwd: b.dir });
    assertStatus(r);
    const says = probeSays(r);
    if (!says.secure) return t.skip(`${b.dir} does not honour ${kind} bits (nosuid?): AT_SECURE is 0`);
    assert.equal(says.preloaded, false, `the loader did not load the preload into a ${kind} program`);
    assert.deepEqual(traceFiles(b.traces), [], 'no trace file');
    assert.equal(r.stderr, '', 'nothing said');
  });
}

test('the preload loaded into a setuid program another way (dlopen by path, then attached): records nothing', { skip: !isRoot && 'needs root' }, (t) => {
  const b = secureCopies(t, 0o4755);
  const env = tracedEnv(b.traces);
  delete env.LD_PRELOAD;
  // Control: dlopen'd into the plain copy, the constructor stays out (loaded
  // late, as by `leaktrace attach`) and leaktrace_attach() starts tracing.
  const plain = run(b.plain, ['dlopen', b.preload], { env, ...NOBODY, cwd: b.dir });
  assertStatus(plain);
  assert.match(plain.stdout, /^dlopened\nattach 0$/m);
  assert.equal(traceFiles(b.traces).length, 1, `the plain copy made a file: ${plain.what}`);
  fs.rmSync(path.join(b.traces, traceFiles(b.traces)[0]));

  const r = run(b.priv, ['dlopen', b.preload], { env, ...NOBODY, cwd: b.dir });
  assertStatus(r);
  if (!probeSays(r).secure) return t.skip('setuid bits not honoured here (nosuid?)');
  assert.match(r.stdout, /^dlopened\nattach -1$/m, 'AT_SECURE: leaktrace_attach() refuses (-EPERM)');
  assert.deepEqual(traceFiles(b.traces), [], 'AT_SECURE: nothing recorded, no file');
});

test('a setuid root program that becomes root and runs another: LD_PRELOAD does not reach it', { skip: !isRoot && 'needs root' }, (t) => {
  const b = secureCopies(t, 0o4755);
  const env = tracedEnv(b.traces, { LD_PRELOAD: b.preload });
  const r = run(b.priv, ['exec', b.plain], { env, ...NOBODY, cwd: b.dir });
  assertStatus(r);
  const [first, second] = [...r.stdout.matchAll(/^secure .*$/gm)].map((m) => probeSays({ stdout: m[0], what: r.what }));
  if (!first.secure) return t.skip('setuid bits not honoured here (nosuid?)');
  assert.ok(second, `the second program ran: ${r.what}\n${r.stdout}`);
  assert.deepEqual(second, { secure: 0, preloaded: false, ldPreload: '(unset)' },
    'the root program it started runs without the preload, and without LD_PRELOAD in its environment');
  assert.deepEqual(traceFiles(b.traces), [], 'no trace file');
});
