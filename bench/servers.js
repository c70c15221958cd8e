#!/usr/bin/env node
// The node-server part of bench/run.sh: starts a server under every case,
// loads them in turn (A B C ... A B C ...) from this process with autocannon
// on 127.0.0.1, and prints medians and ratios to untraced, with the raw
// figures.
//
//   node servers.js table  PRELOAD RUNS SERVERS...
//   node servers.js steady PRELOAD DIR SECONDS RATE
//
// table: SERVERS are `native` (bench/native_server.js) and `ssr`
// (examples/ssr-leak/server.js --fixed, or BENCH_SSR_DIR/server.js). Each
// of RUNS rounds starts a server under every case, all at once, gives each
// a warm-up, then goes through them all, giving every server a slice as
// fast as 10 connections go, then one at a fixed rate (half of what the
// untraced server did in a calibration slice of the first round), each
// load bounded in time and in count, and stops them.
// steady: the native server traced (every stack, JS module on) under RATE
// requests/s for SECONDS; leaves its trace in DIR and prints its path, the
// requests/s it served and the p99 latency in ms.
//
// BENCH_SECONDS (default 3) is the length of each measured slice,
// BENCH_WARMUP (default 3) that of the warm-up.
'use strict';

const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');

const SECONDS = positive('BENCH_SECONDS', 3);
const WARMUP = positive('BENCH_WARMUP', 3);
const CONNECTIONS = 10;
const MAX_RPS = 100000; /* the count bound of an as-fast-as-possible load: far above these servers */
const READY_TIMEOUT_MS = 120000; /* heaptrack and jsdom start slowly on a busy machine */
const STOP_TIMEOUT_MS = 30000;
const SAMPLE = '524288';
const CLOCK_TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout) || 100;

const started = new Map(); /* command running -> its server's pid, killed if this process fails */
let workDir = null; /* removed if this process fails */

// Kills the command and the server in it (under heaptrack, a child of the command).
function kill(child) {
  const pid = started.get(child);
  child.kill('SIGKILL');
  if (pid) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch { /* gone already */ }
  }
}

function fail(message) {
  process.stderr.write(`bench: ${message}\n`);
  for (const child of started.keys()) kill(child);
  if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
  process.exit(1);
}

let autocannon;
try {
  autocannon = require(path.join(__dirname, 'node_modules', 'autocannon'));
} catch (err) {
  fail(`autocannon is not installed: run npm ci in ${__dirname} (${err.code || err.message})`);
}

function positive(name, dflt) {
  const v = process.env[name];
  if (v === undefined || v === '') return dflt;
  if (!/^\d+$/.test(v) || Number(v) < 1) fail(`${name}=${v}: not a whole number of seconds`);
  return Number(v);
}

const SERVERS = {
  native: { script: path.join(__dirname, 'native_server.js'), args: [] },
  ssr: {
    script: path.join(process.env.BENCH_SSR_DIR || path.join(ROOT, 'examples', 'ssr-leak'), 'server.js'),
    args: ['--fixed'], /* the fixed component: the heap does not grow while measured */
  },
};

// Case name, extra environment (null: not traced), heaptrack or not.
const CASES = [
  { name: 'untraced', env: null },
  { name: 'full', env: {} },
  { name: 'full, no JS module', env: { LEAKTRACE_JS: '0' } },
  { name: `sampled ${SAMPLE}`, env: { LEAKTRACE_SAMPLE: SAMPLE } },
  { name: 'sampled, no JS module', env: { LEAKTRACE_SAMPLE: SAMPLE, LEAKTRACE_JS: '0' } },
  { name: 'heaptrack --raw', env: null, heaptrack: true },
];

/* On two CPUs or more, the server gets CPU 0 and the load generator (this process) CPU 1. */
const PIN = os.cpus().length >= 2 && spawnSync('taskset', ['-c', '0', 'true']).status === 0;

function cleanEnv() {
  const e = { ...process.env };
  for (const k of Object.keys(e)) if (k.startsWith('LEAKTRACE_') || k === 'LD_PRELOAD' || k === 'NODE_OPTIONS') delete e[k];
  return e;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Starts `server` under case `c`; resolves to {child, pid, port, log} once it serves.
async function start(server, c, preload, dir) {
  const ready = path.join(dir, 'ready.json');
  const log = path.join(dir, 'server.log');
  fs.rmSync(ready, { force: true });
  const env = cleanEnv();
  if (c.env) Object.assign(env, { LD_PRELOAD: preload, LEAKTRACE_DIR: dir, LEAKTRACE_QUIET: '1' }, c.env);
  let argv = [process.execPath, server.script, ...server.args, '--ready-file', ready];
  if (c.heaptrack) argv = ['heaptrack', '--raw', '-o', path.join(dir, 'heaptrack.bench'), ...argv];
  if (PIN) argv = ['taskset', '-c', '0', ...argv];
  const out = fs.openSync(log, 'w');
  const child = spawn(argv[0], argv.slice(1), { env, stdio: ['ignore', out, out], cwd: dir });
  fs.closeSync(out);
  started.set(child, 0);
  let exited = null;
  child.once('exit', (code, signal) => {
    exited = signal || `exit status ${code}`;
    started.delete(child);
  });
  const t0 = Date.now();
  while (!fs.existsSync(ready)) {
    if (exited) fail(`${path.basename(server.script)} (${c.name}) ended (${exited}) before serving:\n${tail(log)}`);
    if (Date.now() - t0 > READY_TIMEOUT_MS) {
      fail(`${path.basename(server.script)} (${c.name}) did not serve within ${READY_TIMEOUT_MS / 1000} s:\n${tail(log)}`);
    }
    await sleep(50);
  }
  const { pid, port } = JSON.parse(fs.readFileSync(ready, 'utf8'));
  if (!exited) started.set(child, pid);
  return { child, pid, port, log, exited: () => exited };
}

function tail(file) {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-10).join('\n');
  } catch {
    return '(no output)';
  }
}

// SIGTERM to the server itself (under heaptrack, not to the script), then
// waits for the whole command to end, so that its files are complete.
async function stop(s, what) {
  if (!s.exited()) {
    const done = new Promise((resolve) => s.child.once('exit', resolve));
    try {
      process.kill(s.pid, 'SIGTERM');
    } catch { /* already gone: the wait below says how */ }
    const timer = setTimeout(() => kill(s.child), STOP_TIMEOUT_MS);
    await done;
    clearTimeout(timer);
  }
  if (s.exited() !== 'exit status 0') fail(`${what} ended with ${s.exited()}:\n${tail(s.log)}`);
}

// CPU seconds (user and system) that process `pid` has used: a figure that
// another program on the machine disturbs less than requests/s.
function cpuSeconds(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / CLOCK_TICKS; /* utime, stime: fields 14 and 15 */
}

// One load of the server `s`: as fast as it goes (rate 0) or at a fixed
// rate, for `seconds`, at most as many requests as that rate (or MAX_RPS)
// for that long. Resolves to requests/s, p99 latency in ms and the server's
// CPU milliseconds per request.
function load(s, seconds, rate) {
  const port = s.port;
  const opts = {
    url: `http://127.0.0.1:${port}/`, connections: CONNECTIONS, duration: seconds,
    maxOverallRequests: (rate || MAX_RPS) * seconds,
  };
  if (rate) opts.overallRate = rate;
  const cpu0 = cpuSeconds(s.pid);
  return new Promise((resolve, reject) => {
    autocannon(opts, (err, r) => {
      if (err) return reject(err);
      const bad = r.errors + r.timeouts + r.non2xx;
      if (bad) return reject(new Error(`${bad} requests failed (errors ${r.errors}, timeouts ${r.timeouts}, non-2xx ${r.non2xx})`));
      const cpu = (cpuSeconds(s.pid) - cpu0) * 1000 / r['2xx'];
      resolve({ rps: r['2xx'] / r.duration, p99: r.latency.p99, cpu });
    });
  });
}

const fmt = (x) => (x >= 100 ? x.toFixed(0) : x.toPrecision(3));

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

// Two significant digits, so that the rate reads as chosen, not measured.
const round2 = (x) => {
  const p = 10 ** Math.max(0, Math.floor(Math.log10(x)) - 1);
  return Math.max(1, Math.round(x / p) * p);
};

// Every server under every case runs at once, idle but for the one being
// loaded, and the loads go round them in short slices: whatever else the
// machine does in the meantime falls on all the cases alike. Each round
// starts them all anew: V8 optimizes a server's code differently from one
// process to the next (the SSR example's untraced server did 2.3 CPU ms a
// request in one process and 3.4 in another, each steady within itself),
// so that a median over slices of one process per case measured which
// process was luckier. The cases take their turns in a different order
// each round.
async function table(preload, runs, names) {
  const dir = workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'leaktrace-bench-'));
  const servers = names.map((n) => {
    if (!SERVERS[n]) fail(`unknown server ${n} (native, ssr)`);
    if (!fs.existsSync(SERVERS[n].script)) fail(`${SERVERS[n].script}: not there`);
    return [n, SERVERS[n]];
  });
  if (PIN) spawnSync('taskset', ['-p', '-c', '1', String(process.pid)], { stdio: 'ignore' });
  const slice = async (x, seconds, rate) => {
    try {
      return await load(x.s, seconds, rate);
    } catch (err) {
      const gone = x.s.exited() ? `; the server ended (${x.s.exited()}):\n${tail(x.s.log)}` : '';
      return fail(`${x.n} (${x.c.name}): ${err.message}${gone}`);
    }
  };
  try {
    const rates = {};
    const got = {}; /* server -> case -> [{max, fixed}] */
    for (let r = 0; r < runs; r++) {
      const all = []; /* {n, c, s}: a server under a case, in this round's order */
      for (const [n, server] of servers) {
        for (let k = 0; k < CASES.length; k++) {
          const i = (k + r) % CASES.length;
          const d = path.join(dir, `${n}-${i}-${r}`);
          fs.mkdirSync(d);
          all.push({ n, c: CASES[i], d, s: await start(server, CASES[i], preload, d) });
        }
      }
      for (const x of all) await slice(x, WARMUP, 0);
      if (r === 0) {
        for (const x of all.filter((y) => y.c === CASES[0])) {
          const cal = await slice(x, SECONDS, 0);
          rates[x.n] = round2(cal.rps / 2);
          process.stderr.write(`bench: ${x.n}: untraced did ${cal.rps.toFixed(0)} requests/s; fixed rate ${rates[x.n]}/s\n`);
        }
      }
      for (const x of all) {
        const m = { max: await slice(x, SECONDS, 0), fixed: await slice(x, SECONDS, rates[x.n]) };
        got[x.n] = got[x.n] || {};
        (got[x.n][x.c.name] = got[x.n][x.c.name] || []).push(m);
        process.stderr.write(`bench: round ${r + 1}/${runs} ${x.n} ${x.c.name}: ${m.max.rps.toFixed(0)} req/s, ` +
          `p99 ${m.max.p99} ms, ${fmt(m.max.cpu)} CPU ms/request; at ${rates[x.n]}/s p99 ${m.fixed.p99} ms\n`);
      }
      for (const x of all) {
        await stop(x.s, `${x.n} (${x.c.name})`);
        fs.rmSync(x.d, { recursive: true, force: true }); /* a round's traces: tens of MB each */
      }
    }
    console.log(`# node servers: ${CONNECTIONS} connections from autocannon ${require(path.join(__dirname, 'node_modules', 'autocannon', 'package.json')).version}` +
      ` on 127.0.0.1${PIN ? ', servers on CPU 0, load generator on CPU 1' : ''}; ${runs} rounds, each starting` +
      ` every case anew, all running at once and loaded in turn: warm-up ${WARMUP} s each, then ${SECONDS} s as fast as it goes (max)` +
      ` and ${SECONDS} s at a fixed rate (half the untraced calibration run); medians over the rounds`);
    console.log('# full and sampled load the JS timer module, as users get them; heaptrack records raw (compressed, not interpreted)');
    console.log('# CPU: the server process\'s user and system time per request (under heaptrack, its compressor\'s not counted)');
    console.log(`${'server'.padEnd(7)} ${'load'.padEnd(8)} ${'case'.padEnd(21)} ${'req/s'.padStart(7)} ${'ratio'.padStart(5)} ` +
      `${'p99 ms'.padStart(7)} ${'ratio'.padStart(6)} ${'CPU ms'.padStart(7)} ${'ratio'.padStart(6)}   raw: req/s | p99 ms | CPU ms`);
    for (const [n] of servers) {
      for (const kind of ['max', 'fixed']) {
        const med = (c, key) => median(got[n][c.name].map((m) => m[kind][key]));
        for (const c of CASES) {
          const xs = got[n][c.name].map((m) => m[kind]);
          const col = (key, width) => `${fmt(med(c, key)).padStart(width)} ${(med(c, key) / med(CASES[0], key)).toFixed(2).padStart(5)}`;
          const loadName = kind === 'max' ? 'max' : `${rates[n]}/s`;
          console.log(`${n.padEnd(7)} ${loadName.padEnd(8)} ${c.name.padEnd(21)} ${col('rps', 7)} ${col('p99', 7)}x ${col('cpu', 7)}x` +
            `   raw: ${xs.map((x) => x.rps.toFixed(0)).join(' ')} | ${xs.map((x) => x.p99).join(' ')} | ${xs.map((x) => fmt(x.cpu)).join(' ')}`);
        }
      }
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function steady(preload, dir, seconds, rate) {
  if (PIN) spawnSync('taskset', ['-p', '-c', '1', String(process.pid)], { stdio: 'ignore' });
  const s = await start(SERVERS.native, { name: 'full', env: {} }, preload, dir);
  let m;
  try {
    m = await load(s, seconds, rate);
  } catch (err) {
    fail(`steady run: ${err.message}`);
  } finally {
    await stop(s, 'steady run');
  }
  console.log(`${path.join(dir, `leaktrace.${s.pid}.lt`)} ${m.rps.toFixed(0)} ${m.p99}`);
}

const [mode, preload, ...rest] = process.argv.slice(2);
if (!preload || !fs.existsSync(preload)) fail(`usage: servers.js table|steady PRELOAD ... (see the top of ${__filename})`);
if (mode === 'table') {
  const runs = Number(rest[0]);
  if (!(runs >= 1) || rest.length < 2) fail('usage: servers.js table PRELOAD RUNS native|ssr...');
  table(preload, runs, rest.slice(1)).catch((err) => fail(err.stack));
} else if (mode === 'steady') {
  const [dir, seconds, rate] = [rest[0], Number(rest[1]), Number(rest[2])];
  if (!dir || !(seconds >= 1) || !(rate >= 1)) fail('usage: servers.js steady PRELOAD DIR SECONDS RATE');
  steady(preload, dir, seconds, rate).catch((err) => fail(err.stack));
} else {
  fail(`unknown mode ${mode} (table, steady)`);
}
