// What the tests of examples/ssr-leak share: the example's files and the
// line of its leak, the server started under `leaktrace run` and stopped
// with SIGTERM, and a load of a bounded number of requests on 127.0.0.1.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { LEAKTRACE, cleanEnv } from './lib.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const EXAMPLE = path.join(ROOT, 'examples', 'ssr-leak');
export const SERVER = path.join(EXAMPLE, 'server.js');
export const MAP_PANEL = path.join(EXAMPLE, 'app', 'MapPanel.js');
export const MiB = 1 << 20;

/** The line of app/MapPanel.js that calls window.setInterval (the leak when run on the server). */
export function intervalLine() {
  const lines = fs.readFileSync(MAP_PANEL, 'utf8').split('\n');
  const at = lines.flatMap((text, i) => (text.includes('window.setInterval(') ? [i + 1] : []));
  assert.equal(at.length, 1, `one window.setInterval call in ${MAP_PANEL}, found at lines [${at}]`);
  return at[0];
}

/** Fails with what to do when the example's npm packages are not installed. */
export function assertPackages() {
  assert.ok(fs.existsSync(path.join(EXAMPLE, 'node_modules', '.package-lock.json')),
    `${EXAMPLE}/node_modules is missing: run scripts/setup.sh (or npm ci there)`);
}

/** Resolves to what `promise` gives, or fails after `ms` saying it was `what`. */
export async function within(promise, ms, what) {
  let timer;
  const late = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not done after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * `leaktrace run -o DIR --no-report -- node server.js ARGS --ready-file
 * DIR/server.json`, a timeline point every `tickMs`, a full GC before the
 * JS module's exit write (so its last heap figure is what is retained).
 * Returns { child, exited, readyFile, output(), kill() }; `exited` resolves
 * to { code, signal, stdout, stderr } of `leaktrace run`.
 */
export function startServer(dir, args, { tickMs = 100 } = {}) {
  const readyFile = path.join(dir, 'server.json');
  const child = spawn(LEAKTRACE,
    ['run', '-o', dir, '--no-report', '--', process.execPath, SERVER, ...args, '--ready-file', readyFile],
    { cwd: dir, env: cleanEnv({ LEAKTRACE_TICK_MS: String(tickMs), LEAKTRACE_JS_GC: '1' }),
      stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '', stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s) => { stdout += s; });
  child.stderr.setEncoding('utf8').on('data', (s) => { stderr += s; });
  const exited = new Promise((resolve) => {
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  const srv = {
    child, exited, readyFile,
    output: () => `stdout: ${stdout}\nstderr: ${stderr}`,
    // After a failed test: the server and its workers, by pid, then run.
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const state = readReady(readyFile);
      for (const pid of state ? [state.pid, ...state.workers] : []) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch { /* already gone */ }
      }
      child.kill('SIGKILL');
      await exited;
    },
  };
  return srv;
}

function readReady(file) {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return null; /* not written yet */
  }
}

/** The server's ready file once `until(state)` holds (within 60 s). */
export async function ready(srv, until = () => true) {
  const deadline = Date.now() + 60000;
  for (;;) {
    const state = readReady(srv.readyFile);
    if (state && until(state)) return state;
    assert.ok(srv.child.exitCode === null && srv.child.signalCode === null,
      `the server ended before it was ready:\n${srv.output()}`);
    assert.ok(Date.now() < deadline, `the server was not ready within 60 s:\n${srv.output()}`);
    await sleep(50);
  }
}

/** SIGTERM to `pid`; resolves to how `leaktrace run` ended (within 30 s). */
export async function stop(srv, pid) {
  process.kill(pid, 'SIGTERM');
  return within(srv.exited, 30000, `the server after SIGTERM\n${srv.output()}`);
}

/**
 * GET / `count` times on 127.0.0.1:port, one every 1/rate s without waiting
 * for the answers, each on a connection of its own (so a cluster spreads
 * them over its workers). Resolves to { ok: answers 200, byPid: Map of
 * x-served-by to answers 200, failures: [what went wrong] }.
 */
export async function load(port, count, rate) {
  const byPid = new Map();
  const failures = [];
  let ok = 0;
  const one = () => new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/', agent: false, timeout: 30000 }, (res) => {
      res.resume();
      res.on('error', (e) => { failures.push(e.message); resolve(); });
      res.on('end', () => {
        if (res.statusCode === 200) {
          ok++;
          const pid = Number(res.headers['x-served-by']);
          byPid.set(pid, (byPid.get(pid) ?? 0) + 1);
        } else {
          failures.push(`status ${res.statusCode}`);
        }
        resolve();
      });
    });
    req.on('timeout', () => req.destroy(new Error('no answer within 30 s')));
    req.on('error', (e) => { failures.push(e.message); resolve(); });
  });
  const pending = [];
  for (let i = 0; i < count; i++) {
    pending.push(one());
    await sleep(1000 / rate);
  }
  await Promise.all(pending);
  return { ok, byPid, failures };
}

/** The JS module's state beside a trace: leaktrace.<pid>.js.json, parsed. */
export function jsState(dir, pid) {
  const file = path.join(dir, `leaktrace.${pid}.js.json`);
  assert.ok(fs.existsSync(file), `the JS state of pid ${pid}: ${fs.readdirSync(dir)}`);
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}
