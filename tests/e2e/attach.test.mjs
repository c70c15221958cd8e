// `leaktrace attach PID` (issue 8): a native server started without the
// preload, attached for 5 s and detached, runs on to its end with its data
// right and its leak found at its rate; the SSR example under load attached
// and detached 10 times, then once more to find its leak; attaching refused
// cleanly (no such process, another user's, traced already, attached
// already), and the process never left stopped.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import test from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  BUILD, LEAKTRACE, cleanEnv, describeSites, frameAt, header, markers, processes, prog, report, run, siteAt,
  src, tmpdir, traceFiles, tracedEnv,
} from './lib.mjs';
import { EXAMPLE, MAP_PANEL, SERVER, assertPackages, intervalLine, within } from './ssrlib.mjs';

const SERVER_C = src('server.c');
const LEAK_LINE = markers(SERVER_C).LEAK.request;
const LEAK_BYTES = 1000;
const NOBODY = { uid: 65534, gid: 65534 };
const isRoot = process.getuid() === 0;

/** Spawns a program; resolves `exited` to { code, signal, stdout, stderr }. */
function start(file, args, opts = {}) {
  const child = spawn(file, args, { env: cleanEnv(), stdio: ['pipe', 'pipe', 'pipe'], ...opts });
  let stdout = '', stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s) => { stdout += s; });
  child.stderr.setEncoding('utf8').on('data', (s) => { stderr += s; });
  const exited = new Promise((resolve) => {
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return { child, exited, out: () => `stdout: ${stdout}\nstderr: ${stderr}`, stdout: () => stdout };
}

/** Resolves once the program has printed `line`. */
async function printed(p, line, what) {
  const deadline = Date.now() + 30000;
  while (!p.stdout().split('\n').includes(line)) {
    assert.ok(p.child.exitCode === null, `${what} ended before "${line}":\n${p.out()}`);
    assert.ok(Date.now() < deadline, `${what} did not print "${line}" within 30 s:\n${p.out()}`);
    await sleep(20);
  }
}

/** `leaktrace attach ARGS` (asynchronously: the load of the test goes on). */
async function attach(args, { env = {}, uid, gid, timeout = 120000 } = {}) {
  const p = start(LEAKTRACE, ['attach', ...args], { env: cleanEnv(env), uid, gid });
  const r = await within(p.exited, timeout, `leaktrace attach ${args.join(' ')}`);
  r.what = `leaktrace attach ${args.join(' ')}: status ${r.code} signal ${r.signal}\n${r.stderr}`;
  return r;
}

/** State and TracerPid of a process: it must run on, untraced. */
function assertFree(pid, what) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const state = /^State:\s+(\S)/m.exec(status)[1];
  const tracer = Number(/^TracerPid:\s+(\d+)/m.exec(status)[1]);
  assert.ok(['R', 'S', 'D'].includes(state), `${what}: process ${pid} is in state ${state}`);
  assert.equal(tracer, 0, `${what}: process ${pid} is still traced by ${tracer}`);
}

function killQuietly(p) {
  if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
}

test('a native server started plain: attached 5 s, detached, runs on to a clean end; its leak at its rate', async (t) => {
  const dir = tmpdir(t);
  const srv = start(prog('server'), ['13']);
  t.after(() => killQuietly(srv));
  await printed(srv, 'ready', 'the server');
  const pid = srv.child.pid;
  await sleep(1000);

  const r = await attach(['--duration', '5', '-o', dir, '--no-report', String(pid)],
    { env: { LEAKTRACE_TICK_MS: '200' } });
  assert.equal(r.code, 0, r.what);
  const file = path.join(dir, `leaktrace.${pid}.lt`);
  assert.equal(r.stderr,
    `leaktrace: attached to process ${pid}, recording into ${file} for 5 s (Ctrl-C detaches sooner)\n` +
    `leaktrace: detached from process ${pid}; trace written to ${file}\n`);
  assertFree(pid, 'after the detach');
  assert.deepEqual(traceFiles(dir), [`leaktrace.${pid}.lt`]);
  const h = header(file);
  assert.ok(h.attached && h.complete, `${file}: attached and complete: ${JSON.stringify(h)}`);

  // It goes on for 7 s more, checking every block it frees, and ends well.
  const end = await within(srv.exited, 60000, 'the server');
  assert.equal(end.code, 0, `the server after the detach:\n${srv.out()}`);
  const m = /^server: (\d+) requests, (\d+) bytes leaked, (\d+) bytes\/s, ok$/m.exec(end.stdout);
  assert.ok(m, `the server's last line:\n${srv.out()}`);
  const rate = Number(m[3]);

  const proc = processes(report([file]))[0];
  assert.equal(proc.process.attached, true);
  assert.equal(proc.process.complete, true);
  const leak = siteAt(proc, SERVER_C, LEAK_LINE);
  // Only the leak is live: the scratch blocks, and the pool's blocks made
  // before the attach and freed or reallocated during it, left nothing.
  assert.deepEqual(proc.sites.filter((s) => s.kind === 'allocation'), [leak],
    `only the leak is live:\n${describeSites(proc.sites)}`);
  assert.equal(leak.verdict, 'leak', leak.reason);
  assert.deepEqual(
    [leak.live_bytes, leak.allocations, leak.bytes_allocated],
    [leak.live_blocks * LEAK_BYTES, leak.live_blocks, leak.live_blocks * LEAK_BYTES]);
  assert.equal(proc.summary.live_bytes, leak.live_bytes);
  assert.equal(proc.summary.live_blocks, leak.live_blocks);
  assert.equal(proc.summary.frees, proc.summary.allocations - proc.summary.live_blocks);
  // Each request: a scratch block, the leak, and every other one a realloc
  // of a pool block; a few more or less where the attach and the detach cut
  // requests in two.
  const threads = 3;
  assert.ok(Math.abs(proc.summary.allocations - 2.5 * leak.allocations) <= 4 * threads,
    `allocations ${proc.summary.allocations} for ${leak.allocations} requests`);
  // 5 s at the rate the server itself measured, within what a busy machine
  // makes of a 10 ms sleep.
  assert.ok(leak.growth_bytes_per_s > 0.7 * rate && leak.growth_bytes_per_s < 1.3 * rate,
    `leak rate ${leak.growth_bytes_per_s} B/s, the server's ${rate} B/s`);
  assert.ok(leak.live_bytes > 0.6 * 5 * rate && leak.live_bytes < 1.4 * 5 * rate,
    `${leak.live_bytes} B leaked in about 5 s at ${rate} B/s`);
});

test('code mapped again before the attach (as V8 maps node\'s builtins): found in the map, its frames named', async (t) => {
  const ALIAS_C = src('alias.c');
  const M = markers(ALIAS_C);
  const dir = tmpdir(t);
  const p = start(prog('alias'), ['serve', '4']);
  t.after(() => killQuietly(p));
  await printed(p, 'ready', 'alias');
  const r = await attach(['--duration', '1', '-o', dir, '--no-report', String(p.child.pid)]);
  assert.equal(r.code, 0, r.what);
  const end = await within(p.exited, 60000, 'alias');
  assert.equal(end.code, 0, p.out());
  const proc = processes(report([path.join(dir, `leaktrace.${p.child.pid}.lt`)]))[0];
  const site = siteAt(proc, ALIAS_C, M.LEAK.via);
  assert.equal(site.frames[0].function, 'alloc_via');
  assert.ok(site.frames[1].line === M.CALL.serve && site.live_blocks > 10 && site.live_bytes === site.live_blocks * 777,
    describeSites(proc.sites));
});

test('attached twice: the second is refused; Ctrl-C detaches the first, which reports', async (t) => {
  const dir = tmpdir(t);
  const srv = start(prog('server'), ['30']);
  t.after(() => killQuietly(srv));
  await printed(srv, 'ready', 'the server');
  const pid = srv.child.pid;

  const first = start(LEAKTRACE, ['attach', '-o', dir, String(pid)], { env: cleanEnv() });
  t.after(() => killQuietly(first));
  const file = path.join(dir, `leaktrace.${pid}.lt`);
  const deadline = Date.now() + 60000;
  while (!first.out().includes('Ctrl-C detaches')) {
    assert.ok(first.child.exitCode === null, `the first attach ended:\n${first.out()}`);
    assert.ok(Date.now() < deadline, `the first attach did not attach within 60 s:\n${first.out()}`);
    await sleep(20);
  }
  const second = await attach(['-o', dir, String(pid)]);
  assert.equal(second.code, 2, second.what);
  assert.equal(second.stderr,
    `leaktrace: process ${pid} is attached already (${file}); \`leaktrace ctl ${pid} detach\` ends that\n`);
  assertFree(pid, 'after the second attach');

  await sleep(1500);
  first.child.kill('SIGINT');
  const r = await within(first.exited, 30000, 'the first attach after SIGINT');
  assert.equal(r.code, 0, first.out());
  assert.match(r.stderr, new RegExp(`detached from process ${pid}; trace written to`));
  assert.match(r.stderr, new RegExp(`pid ${pid}: .*server 30 \\(attached, then detached after [0-9.]+ s\\)\n` +
    'note: attached: the report covers only what was allocated after attach at '));
  assert.match(r.stderr, new RegExp(`#0 leak_block \\(.*server\\.c:${LEAK_LINE}\\)`));
  assertFree(pid, 'after Ctrl-C');
  srv.child.kill('SIGTERM');
});

test('attach refused with one line, exit 2: no such process, another user\'s, one traced already', async (t) => {
  const pidMax = Number(fs.readFileSync('/proc/sys/kernel/pid_max', 'utf8'));
  const none = await attach([String(pidMax)]);
  assert.equal(none.code, 2, none.what);
  assert.equal(none.stderr, `leaktrace: no process ${pidMax}\n`);

  const srv = start(prog('server'), ['60']);
  t.after(() => killQuietly(srv));
  await printed(srv, 'ready', 'the server');
  const pid = srv.child.pid;

  const holder = start(prog('ptrace_hold'), [String(pid)]);
  t.after(() => killQuietly(holder));
  await printed(holder, 'held', 'ptrace_hold');
  const traced = await attach([String(pid)]);
  assert.equal(traced.code, 2, traced.what);
  assert.equal(traced.stderr,
    `leaktrace: process ${pid} is already traced by process ${holder.child.pid} (ptrace_hold); ` +
    'detach that debugger or tracer first\n');
  holder.child.stdin.end();
  assert.equal((await within(holder.exited, 10000, 'ptrace_hold')).code, 0);
  assertFree(pid, 'after the refusal of a traced process');

  // A directory anyone may write to, not sticky: refused in the process
  // (another user could replace the trace), said as that.
  const open = tmpdir(t);
  fs.chmodSync(open, 0o777);
  const unsafe = await attach(['-o', open, String(pid)]);
  assert.equal(unsafe.code, 2, unsafe.what);
  assert.equal(unsafe.stderr.split('\n').filter(Boolean).at(-1),
    `leaktrace: process ${pid} could not start recording: the trace directory is writable by anyone and not ` +
    'sticky, where another user could replace the trace: give -o a directory of the process\'s user, or make ' +
    'it sticky (chmod +t) (its stderr may say more)');
  assertFree(pid, 'after the refusal of an unsafe directory');

  if (isRoot) {
    // root's process, attached by nobody.
    const other = await attach(['-o', os.tmpdir(), String(pid)], NOBODY);
    assert.equal(other.code, 2, other.what);
    assert.equal(other.stderr,
      `leaktrace: cannot attach to process ${pid}: it belongs to uid 0 and leaktrace runs as uid ` +
      '65534; run leaktrace as that user, or as root\n');
    assertFree(pid, 'after the refusal of another user');
  }
  srv.child.kill('SIGTERM');
  const end = await within(srv.exited, 30000, 'the server');
  assert.equal(end.signal, 'SIGTERM', srv.out());
});

// jemalloc, tcmalloc (redis-server links jemalloc): the hooks of an attach
// call the C library's malloc, whose free cannot take the blocks made
// before. Refused, and the process runs on.
test('a process that allocates with another allocator: attach refused with one line, the process unharmed', async (t) => {
  const srv = start(prog('server'), ['60'], { env: cleanEnv({ LD_PRELOAD: path.join(BUILD, 'tests', 'libotheralloc.so') }) });
  t.after(() => killQuietly(srv));
  await printed(srv, 'ready', 'the server');
  const pid = srv.child.pid;
  const r = await attach(['-o', tmpdir(t), String(pid)]);
  assert.equal(r.code, 2, r.what);
  assert.equal(r.stderr, `leaktrace: process ${pid} could not start recording: it allocates with another ` +
    "allocator than the C library's (jemalloc, tcmalloc, ...), whose blocks the C library's free cannot take: " +
    'start it under `leaktrace run` instead (its stderr may say more)\n');
  assertFree(pid, 'after the refusal');
  srv.child.kill('SIGTERM');
  const end = await within(srv.exited, 30000, 'the server');
  assert.equal(end.signal, 'SIGTERM', srv.out());
});

// A filter that kills at a call attach would make (openat) is read and the
// process refused before any call; one that answers with an error lets the
// attach fail, said, and the process run on. Either way it is unharmed.
for (const [action, said] of [
  ['kill', (pid) => `leaktrace: process ${pid} runs under a seccomp filter that answers openat with killing the ` +
    'process, a call attach makes in it: it would end the program; start it under leaktrace run instead\n'],
  ['errno', () => /^leaktrace: process \d+ could not load .*libleaktrace\.so: .*Operation not permitted\n$/],
]) {
  test(`a process under a seccomp filter that answers openat with ${action === 'kill' ? 'death' : 'EPERM'}: attach refused or failed with one line, the process unharmed`, async (t) => {
    const sb = start(prog('sandbox'), ['wait', action]);
    t.after(() => killQuietly(sb));
    await printed(sb, 'ready', 'the sandbox');
    const pid = sb.child.pid;
    const r = await attach(['-o', tmpdir(t), '--duration', '1', String(pid)]);
    assert.equal(r.code, 2, r.what);
    if (typeof said(pid) === 'string') assert.equal(r.stderr, said(pid));
    else assert.match(r.stderr, said(pid));
    await sleep(100);
    assertFree(pid, 'after the attach');
    sb.child.kill('SIGTERM');
    const end = await within(sb.exited, 30000, 'the sandbox');
    assert.equal(end.signal, 'SIGTERM', sb.out());
  });
}

// A main thread that called pthread_exit leaves its leader a zombie while
// the process runs on: attach (which works through it) says so; ctl finds
// the trace file of a traced one through another thread's map.
test('a process whose main thread has exited: attach says why it cannot, ctl finds a traced one', async (t) => {
  const plain = start(prog('getattr'), ['exit-main']);
  t.after(() => killQuietly(plain));
  await printed(plain, 'ready', 'getattr exit-main');
  const pid = plain.child.pid;
  const r = await attach(['-o', tmpdir(t), String(pid)]);
  assert.deepEqual([r.code, r.stderr], [2, `leaktrace: process ${pid}: its main thread has exited (pthread_exit) ` +
    'while 1 other runs on; attach works through the main thread: start the program under leaktrace run instead\n']);
  // Running on, untraced: its zombie leader and its thread.
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  assert.deepEqual([/^Threads:\s+(\d+)$/m.exec(status)?.[1], /^TracerPid:\s+(\d+)$/m.exec(status)?.[1]], ['2', '0'], status);

  const dir = tmpdir(t);
  const traced = start(prog('getattr'), ['exit-main'], { env: tracedEnv(dir) });
  t.after(() => killQuietly(traced));
  await printed(traced, 'ready', 'getattr exit-main, traced');
  const st = run(LEAKTRACE, ['ctl', String(traced.child.pid), 'status']);
  assert.equal(st.status, 0, st.what);
  assert.match(st.stdout, new RegExp(`^file: ${path.join(dir, `leaktrace.${traced.child.pid}.lt`).replace(/[.]/g, '\\.')}$`, 'm'));
});

// A container's filter kills only calls of another architecture: attached,
// recorded, detached, the process running on.
test('a process under a filter that kills only a foreign architecture (a container\'s): attached and detached', async (t) => {
  const sb = start(prog('sandbox'), ['wait', 'arch']);
  t.after(() => killQuietly(sb));
  await printed(sb, 'ready', 'the sandbox');
  const pid = sb.child.pid;
  const dir = tmpdir(t);
  const r = await attach(['-o', dir, '--duration', '1', '--no-report', String(pid)]);
  assert.equal(r.code, 0, r.what);
  assert.equal(traceFiles(dir).length, 1, r.what);
  await sleep(100);
  assertFree(pid, 'after the detach');
  sb.child.kill('SIGTERM');
  const end = await within(sb.exited, 30000, 'the sandbox');
  assert.equal(end.signal, 'SIGTERM', sb.out());
});

/** GET / on 127.0.0.1:port at `rate` a second until stop(); counts answers 200. */
function steadyLoad(port, rate) {
  const st = { ok: 0, failures: [], pending: new Set() };
  const timer = setInterval(() => {
    const req = http.get({ host: '127.0.0.1', port, path: '/', agent: false, timeout: 30000 }, (res) => {
      res.resume();
      res.on('end', () => {
        if (res.statusCode === 200) st.ok++;
        else st.failures.push(`status ${res.statusCode}`);
        st.pending.delete(req);
      });
    });
    st.pending.add(req);
    req.on('timeout', () => req.destroy(new Error('no answer within 30 s')));
    req.on('error', (e) => { st.failures.push(e.message); st.pending.delete(req); });
  }, 1000 / rate);
  st.stop = async () => {
    clearInterval(timer);
    while (st.pending.size) await sleep(20);
  };
  return st;
}

test('node (the SSR example) under load: attached and detached 10 times, then its leak found; never stopped, no crash', { timeout: 240000 }, async (t) => {
  assertPackages();
  const dir = tmpdir(t);
  const readyFile = path.join(dir, 'server.json');
  const srv = start(process.execPath, [SERVER, '--ready-file', readyFile], { cwd: EXAMPLE });
  t.after(() => killQuietly(srv));
  const deadline = Date.now() + 60000;
  let state;
  while (!(state = fs.existsSync(readyFile) && JSON.parse(fs.readFileSync(readyFile, 'utf8')))) {
    assert.ok(srv.child.exitCode === null && Date.now() < deadline, `the server is not ready:\n${srv.out()}`);
    await sleep(50);
  }
  const pid = state.pid;
  const load = steadyLoad(state.port, 10);
  t.after(() => load.stop());

  for (let i = 1; i <= 10; i++) {
    const r = await attach(['--duration', '0.3', '-o', dir, '--no-report', String(pid)]);
    assert.equal(r.code, 0, `attach ${i}: ${r.what}`);
    assertFree(pid, `after attach ${i}`);
    const name = i === 1 ? `leaktrace.${pid}.lt` : `leaktrace.${pid}.${i}.lt`;
    const h = header(path.join(dir, name));
    assert.ok(h.attached && h.complete && h.pid === pid, `attach ${i}: ${name}: ${JSON.stringify(h)}`);
  }
  const before = load.ok;
  assert.ok(before > 0, 'pages were served during the attaches');

  const r = await attach(['--duration', '4', '-o', dir, '--no-report', String(pid)],
    { env: { LEAKTRACE_TICK_MS: '100' } });
  assert.equal(r.code, 0, r.what);
  assertFree(pid, 'after the last attach');
  const pages = load.ok - before;
  await load.stop();
  assert.deepEqual(load.failures, [], 'every page answered');
  assert.ok(pages >= 10, `pages served during the last attach: ${pages}`);

  // Each page keeps a 1.2 MB store reachable from its live interval: the
  // JS heap grows, page by page, through the pages V8 maps for it.
  const proc = processes(report([path.join(dir, `leaktrace.${pid}.11.lt`)]))[0];
  assert.equal(proc.process.attached, true);
  const mappings = proc.growth.series.find((s) => s.name === 'mappings');
  assert.ok(mappings && mappings.last - mappings.first > 0.3 * 1.2e6 * pages,
    `mapped bytes grew ${mappings && mappings.last - mappings.first} for ${pages} pages`);
  const top = proc.sites[0];
  assert.ok(top.kind === 'mapping' && top.verdict === 'leak' &&
    top.frames.some((f) => /MemoryAllocator/.test(f.function ?? '')),
    `the first site is V8's heap growing, a leak:\n${describeSites(proc.sites.slice(0, 3))}`);

  srv.child.kill('SIGTERM');
  const end = await within(srv.exited, 30000, 'the server after SIGTERM');
  assert.equal(end.code, 0, srv.out());
  assert.match(end.stderr, new RegExp(`pid ${pid} served \\d+ pages; stopped by SIGTERM`));
});

/** A port free now on 127.0.0.1. */
function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

test('node with its inspector open (--inspect): JS timers followed from the attach, twice; the leaking interval found', { timeout: 240000 }, async (t) => {
  assertPackages();
  const dir = tmpdir(t);
  const readyFile = path.join(dir, 'server.json');
  const inspect = await freePort();
  const srv = start(process.execPath, [`--inspect=127.0.0.1:${inspect}`, SERVER, '--ready-file', readyFile],
    { cwd: EXAMPLE });
  t.after(() => killQuietly(srv));
  const deadline = Date.now() + 60000;
  let state;
  while (!(state = fs.existsSync(readyFile) && JSON.parse(fs.readFileSync(readyFile, 'utf8')))) {
    assert.ok(srv.child.exitCode === null && Date.now() < deadline, `the server is not ready:\n${srv.out()}`);
    await sleep(50);
  }
  const pid = state.pid;
  const load = steadyLoad(state.port, 10);
  t.after(() => load.stop());

  for (const [i, name] of [[1, `leaktrace.${pid}`], [2, `leaktrace.${pid}.2`]]) {
    const before = load.ok;
    const r = await attach(['--duration', '4', '-o', dir, '--no-report', String(pid)],
      { env: { LEAKTRACE_TICK_MS: '200' } });
    const pages = load.ok - before;
    assert.equal(r.code, 0, r.what);
    assert.match(r.stderr, new RegExp(`JS timers followed through node's inspector at 127\\.0\\.0\\.1:${inspect} \\(node says "Debugger attached\\." on its stderr for each connection\\)\n`));
    assertFree(pid, `after attach ${i}`);
    const js = JSON.parse(fs.readFileSync(path.join(dir, `${name}.js.json`), 'utf8'));
    assert.equal(js.complete, true, `attach ${i}: the JS state is complete\n${r.stderr}\n${srv.out()}`);
    const proc = processes(report([path.join(dir, `${name}.lt`)]))[0];
    // The first attach sees the intervals of its pages first. The second
    // also sees the timers that jsdom re-arms, at every tick, for the
    // intervals of the pages before it: made after it, by jsdom's line.
    const at = proc.timers.findIndex((s) => s.kind === 'js' && frameAt(s.frames[0], MAP_PANEL, intervalLine()));
    assert.ok(i === 1 ? at === 0 : at >= 0,
      `attach ${i}: a JS timer site at MapPanel.js:${intervalLine()}${i === 1 ? ', the first' : ''}: ` +
      JSON.stringify(proc.timers).slice(0, 500));
    const top = proc.timers[at];
    // One live interval per page rendered while the module followed: no
    // more than the pages served during the attach, and most of them.
    assert.ok(top.live <= pages + 2 && top.live >= Math.min(5, pages / 3),
      `attach ${i}: ${top.live} live intervals for ${pages} pages`);
  }
  await load.stop();
  assert.deepEqual(load.failures, [], 'every page answered');
  srv.child.kill('SIGTERM');
  const end = await within(srv.exited, 30000, 'the server after SIGTERM');
  assert.equal(end.code, 0, srv.out());
});

// --inspect=127.0.0.1:0: node picks the port and only prints it; attach
// finds it as the one socket of the process's that listens there.
test('node with its inspector on a port of its choosing (--inspect=127.0.0.1:0): found, JS timers followed', { timeout: 120000 }, async (t) => {
  const dir = tmpdir(t);
  const script = "console.log('ready'); setInterval(() => setInterval(() => {}, 60000), 50); /* LEAK: interval */";
  const node = start(process.execPath, ['--inspect=127.0.0.1:0', '-e', script]);
  t.after(() => killQuietly(node));
  await printed(node, 'ready', 'node');
  const port = Number(/ws:\/\/127\.0\.0\.1:(\d+)\//.exec(node.out())?.[1]);
  assert.ok(port > 0, `node printed its port: ${node.out()}`);
  // The duration counts from the attach; following the JS timers takes a
  // second or so of it.
  const r = await attach(['--duration', '3', '-o', dir, '--no-report', String(node.child.pid)]);
  assert.equal(r.code, 0, r.what);
  assert.match(r.stderr, new RegExp(`JS timers followed through node's inspector at 127\\.0\\.0\\.1:${port} \\(node says "Debugger attached\\." on its stderr for each connection\\)\n`));
  const proc = processes(report([path.join(dir, `leaktrace.${node.child.pid}.lt`)]))[0];
  const js = proc.timers.filter((s) => s.kind === 'js');
  assert.ok(js.length === 1 && js[0].live >= 5, `the intervals made each 50 ms: ${JSON.stringify(proc.timers).slice(0, 400)}`);
  // Started without --perf-basic-prof: its JS frames cannot be named, and the report says why.
  const text = run(LEAKTRACE, ['report', path.join(dir, `leaktrace.${node.child.pid}.lt`)]);
  assert.match(text.stderr, /: node was not started with --perf-basic-prof, which names JS functions, and attach cannot turn it on: JS frames shown as addresses/);
  node.child.kill('SIGTERM');
  await within(node.exited, 30000, 'node after SIGTERM');
});

// The same, the program listening on that address too: which port is the
// inspector's is not known, nothing is sent to the program's; said so.
test('node with its inspector on a port of its choosing beside a server of its own: said, not guessed', { timeout: 120000 }, async (t) => {
  const dir = tmpdir(t);
  const script = "require('net').createServer().listen(0, '127.0.0.1', () => console.log('ready')); " +
    'setInterval(() => {}, 1000);';
  const node = start(process.execPath, ['--inspect=127.0.0.1:0', '-e', script]);
  t.after(() => killQuietly(node));
  await printed(node, 'ready', 'node');
  const r = await attach(['--duration', '0.5', '-o', dir, '--no-report', String(node.child.pid)]);
  assert.equal(r.code, 0, r.what);
  assert.match(r.stderr, /leaktrace: JS timers not followed: node's inspector listens on a port of its choosing \(--inspect=127\.0\.0\.1:0\), which its other listening sockets there hide/);
  node.child.kill('SIGTERM');
  await within(node.exited, 30000, 'node after SIGTERM');
});

test('torture (16 threads allocating, forks in the middle of anything) started plain: attached and detached 5 times, its data right to the end', async (t) => {
  const dir = tmpdir(t);
  const tor = start(prog('torture'), ['run', '20000', '5'], { cwd: dir });
  t.after(() => killQuietly(tor));
  await printed(tor, 'ready', 'torture');
  const pid = tor.child.pid;
  for (let i = 1; i <= 5; i++) {
    const r = await attach(['--duration', '0.5', '-o', dir, '--no-report', String(pid)]);
    assert.equal(r.code, 0, `attach ${i}: ${r.what}`);
    assertFree(pid, `after attach ${i}`);
    const h = header(path.join(dir, i === 1 ? `leaktrace.${pid}.lt` : `leaktrace.${pid}.${i}.lt`));
    assert.ok(h.attached && h.complete, `attach ${i}: ${JSON.stringify(h)}`);
  }
  tor.child.stdin.end('stop\n');
  const end = await within(tor.exited, 120000, 'torture after stop');
  assert.equal(end.signal, null, tor.out());
  assert.equal(end.code, 0, tor.out());
  assert.equal(end.stderr, '', 'nothing on stderr');
  assert.match(end.stdout, /^torture: \d+ ops, \d+ quiet forks, \d+ wild forks$/m);
  // Its children forked while it was attached recorded nothing.
  assert.deepEqual(traceFiles(dir).filter((f) => !f.startsWith(`leaktrace.${pid}.`)), []);
});
