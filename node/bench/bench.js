#!/usr/bin/env node
// What leaktrace.js costs. Each case runs in a fresh node process, with and
// without `--require leaktrace.js`, the two alternating, and the medians are
// compared:
//
//   timers   create and clear N timers (setTimeout + clearTimeout), from a
//            stack 2 and 24 frames deep: the per-timer overhead in µs;
//   http     an HTTP server on 127.0.0.1 that arms a setTimeout per request
//            (a request deadline, cleared when the response is sent), loaded
//            by a bounded loop of requests from node's own http client:
//            requests/s, traced over untraced;
//   promises an async/await loop that makes no timer: enabling async_hooks
//            turns on V8's promise hooks, which every promise then pays.
//
// Usage: node bench.js [runs=3] [requests=20000] [timers=200000]
// The table goes to stdout; nothing is written outside a temporary directory.
'use strict';

const { spawn, spawnSync } = require('child_process');
const fs = require('fs');
const http = require('http');
const os = require('os');
const path = require('path');

const MODULE = path.resolve(__dirname, '..', 'leaktrace.js');
const RUNS = Number(process.argv[2] || 3);
const REQUESTS = Number(process.argv[3] || 20000);
const TIMERS = Number(process.argv[4] || 200000);
const CONCURRENCY = 32;

// The workloads, run as `node -e` in the child. Each prints one number.
const TIMERS_SRC = `
  const n = Number(process.argv[1]), depth = Number(process.argv[2]);
  function nest(d) { if (d > 0) return nest(d - 1); const t = setTimeout(noop, 60000); clearTimeout(t); }
  function noop() {}
  for (let i = 0; i < 20000; i++) nest(depth);          // warm-up
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) nest(depth);
  const ns = Number(process.hrtime.bigint() - t0);
  console.log(ns / n / 1000);                           // µs per timer
`;

const PROMISES_SRC = `
  const n = Number(process.argv[1]);
  async function step(i) { await null; return i; }
  (async () => {
    for (let i = 0; i < 20000; i++) await step(i);
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) await step(i);
    console.log(Number(process.hrtime.bigint() - t0) / n / 1000);
  })();
`;

const SERVER_SRC = `
  const http = require('http');
  let c0 = null;
  const server = http.createServer((req, res) => {
    const deadline = setTimeout(() => { res.statusCode = 503; res.end(); }, 10000);
    let body = '';
    for (let i = 0; i < 20; i++) body += i.toString(36);
    res.setHeader('content-type', 'text/plain');
    res.end(body, () => clearTimeout(deadline));
  });
  server.keepAliveTimeout = 60000;
  server.listen(0, '127.0.0.1', () => process.stdout.write(server.address().port + '\\n'));
  // 'start' after the warm-up, then the end of stdin: the CPU time in between, in µs.
  process.stdin.on('data', () => { c0 = process.cpuUsage(); });
  process.stdin.on('end', () => {
    const c = process.cpuUsage(c0);
    process.stdout.write(String(c.user + c.system) + '\\n', () => process.exit(0));
  });
`;

function env(dir, traced) {
  const e = { ...process.env };
  for (const k of Object.keys(e)) if (k.startsWith('LEAKTRACE_') || k === 'LD_PRELOAD' || k === 'NODE_OPTIONS') delete e[k];
  if (traced) e.LEAKTRACE_JS_STATE = path.join(dir, 'bench');
  return e;
}

function nodeArgs(traced, src, args) {
  return [...(traced ? ['--require', MODULE] : []), '-e', src, ...args.map(String)];
}

function runOnce(dir, traced, src, args) {
  const r = spawnSync(process.execPath, nodeArgs(traced, src, args), { env: env(dir, traced), encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`bench child failed: ${r.stderr}`);
  return Number(r.stdout.trim());
}

/* On two CPUs or more, the server gets one and the client (this process) another. */
const PIN = os.cpus().length >= 2 && spawnSync('taskset', ['-c', '0', 'true']).status === 0;
if (PIN) spawnSync('taskset', ['-p', '-c', '1', String(process.pid)]);

/**
 * Starts the server, drives `REQUESTS` requests through it; returns
 * requests/s and the server's CPU time per request in µs.
 */
async function httpOnce(dir, traced) {
  const argv = nodeArgs(traced, SERVER_SRC, []);
  const child = spawn(PIN ? 'taskset' : process.execPath, PIN ? ['-c', '0', process.execPath, ...argv] : argv, {
    env: env(dir, traced), stdio: ['pipe', 'pipe', 'inherit'],
  });
  const port = await new Promise((resolve, reject) => {
    child.stdout.once('data', (d) => resolve(Number(String(d).trim())));
    child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const get = () => new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: '/', agent }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`status ${res.statusCode}`))));
    }).on('error', reject);
  });
  let sent = 0;
  const worker = async () => { while (sent++ < REQUESTS) await get(); };
  for (let i = 0; i < 2000; i++) await get(); // warm-up
  child.stdin.write('start\n');
  const t0 = process.hrtime.bigint();
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  agent.destroy();
  const cpu = new Promise((resolve) => child.stdout.once('data', (d) => resolve(Number(String(d).trim()))));
  child.stdin.end();
  const us = await cpu;
  await new Promise((resolve) => child.once('exit', resolve));
  return { rps: REQUESTS / s, cpu: us / REQUESTS };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'leaktrace-js-bench-'));
  try {
    const cases = [
      ['timers, 2 frames deep', 'µs/timer', (tr) => runOnce(dir, tr, TIMERS_SRC, [TIMERS, 0])],
      ['timers, 24 frames deep', 'µs/timer', (tr) => runOnce(dir, tr, TIMERS_SRC, [TIMERS, 22])],
      ['promises (await)', 'µs/await', (tr) => runOnce(dir, tr, PROMISES_SRC, [TIMERS * 5])],
    ];
    const rows = [];
    const row = (r) => {
      rows.push(r);
      process.stderr.write(`${r}\n`);
    };
    for (const [name, unit, fn] of cases) {
      const off = [], on = [];
      for (let r = 0; r < RUNS; r++) {
        off.push(await fn(false));
        on.push(await fn(true));
      }
      const a = median(off), b = median(on);
      row(`| ${name} | ${a.toFixed(2)} ${unit} | ${b.toFixed(2)} ${unit} | +${(b - a).toFixed(2)} ${unit} |`);
    }
    const off = [], on = [];
    for (let r = 0; r < RUNS; r++) {
      off.push(await httpOnce(dir, false));
      on.push(await httpOnce(dir, true));
    }
    const rpsA = median(off.map((x) => x.rps)), rpsB = median(on.map((x) => x.rps));
    const cpuA = median(off.map((x) => x.cpu)), cpuB = median(on.map((x) => x.cpu));
    row(`| http, ${REQUESTS} requests | ${rpsA.toFixed(0)} requests/s | ${rpsB.toFixed(0)} requests/s | ratio ${(rpsB / rpsA).toFixed(3)} |`);
    row(`| http, server CPU | ${cpuA.toFixed(1)} µs/request | ${cpuB.toFixed(1)} µs/request | +${(cpuB - cpuA).toFixed(1)} µs/request (2 timers each) |`);
    console.log(`node ${process.version}, ${os.cpus().length} cpus${PIN ? ' (server and client pinned apart)' : ''},` +
      ` median of ${RUNS} runs each, alternating\n`);
    console.log('| case | untraced | leaktrace.js | cost |');
    console.log('|---|---|---|---|');
    for (const r of rows) console.log(r);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
