// SIGKILL: the trace file lives in a shared mapping, so what the process had
// recorded when it was killed is still there: not complete, and the figures
// are those of the moment of death.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { test } from 'node:test';
import {
  assertLive, header, markers, prog, report, siteAt, src, tmpdir, tracedEnv,
} from './lib.mjs';

const KILLED = prog('killed');
const KILLED_C = src('killed.c');

/** Runs killed, answering its first checkpoints, and kills it after `last`. */
function runAndKill(dir, last) {
  return new Promise((resolve, reject) => {
    const child = spawn(KILLED, [], { env: tracedEnv(dir), cwd: dir, stdio: ['pipe', 'pipe', 'pipe'] });
    const seen = [];
    let stderr = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`no checkpoint ${last} within 30 s; saw ${JSON.stringify(seen)}; stderr ${stderr}`));
    }, 30000);
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('error', reject);
    readline.createInterface({ input: child.stdout }).on('line', (text) => {
      const m = /^checkpoint (\d+) live=(\d+) blocks=(\d+)$/.exec(text);
      if (!m) return reject(new Error(`unexpected output: ${text}`));
      const [n, live, blocks] = m.slice(1).map(Number);
      seen.push({ n, live, blocks });
      if (n < last) child.stdin.write('\n');
      else child.kill('SIGKILL');
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ pid: child.pid, code, signal, seen, stderr });
    });
  });
}

test('killed after the third checkpoint: incomplete, figures of the last checkpoint', async (t) => {
  const dir = tmpdir(t);
  const r = await runAndKill(dir, 3);
  assert.equal(r.signal, 'SIGKILL', `ended by SIGKILL: ${JSON.stringify(r)}`);
  assert.deepEqual(r.seen.map((c) => c.n), [1, 2, 3]);
  const { live, blocks } = r.seen[2];

  const file = path.join(dir, `leaktrace.${r.pid}.lt`);
  assert.equal(header(file).complete, false, 'header not marked complete');
  const rep = report([file]);
  assert.equal(rep.process.pid, r.pid);
  assert.equal(rep.process.complete, false, 'report says incomplete');

  // Step n allocates n blocks of n * 1000 bytes at the LEAK line; from step 3
  // on it frees what step n - 2 took. The checkpoint gives what is live.
  const site = siteAt(rep, KILLED_C, markers(KILLED_C).LEAK.step);
  let allocations = 0, allocated = 0;
  for (let n = 1; n <= 3; n++) {
    allocations += n;
    allocated += n * n * 1000;
  }
  assert.deepEqual(
    { live_bytes: site.live_bytes, live_blocks: site.live_blocks, allocations: site.allocations, bytes_allocated: site.bytes_allocated },
    { live_bytes: live, live_blocks: blocks, allocations, bytes_allocated: allocated }, 'step site');
  assertLive(rep, { live_bytes: live, live_blocks: blocks });
  assert.ok(rep.summary.peak_live_bytes >= live);
});
