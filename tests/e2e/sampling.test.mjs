// Sampling (LEAKTRACE_SAMPLE): the per-site figures are unbiased estimates.
// Run with several seeds, each site's estimated live bytes must fall within
// a bound of the truth set by how many samples it can expect (at mean
// interval T, a site of B bytes in blocks of n bytes gets about
// B * p / n samples, p = 1 - exp(-n/T)), and a site that holds more than 5%
// of all leaked bytes must always be found. A realloc is a new block for
// the sampler: its site is estimated as a malloc's is.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import {
  LEAKTRACE, assertStatus, cleanEnv, frameAt, markers, prog, report, run, src, tmpdir, traceFiles, tracedEnv,
} from './lib.mjs';

const PROG = prog('sampling');
const SRC = src('sampling.c');
const M = markers(SRC);
const T = 65536;
const SITES = {
  small: { n: 100000, size: 64 },
  medium: { n: 2000, size: 4000 },
  large: { n: 20, size: 1 << 20 },
  little: { n: 100, size: 100 },
  grown: { n: 20000, size: 48 }, // malloc(16), then realloc to 48
};
const total = Object.values(SITES).reduce((a, s) => a + s.n * s.size, 0);

/**
 * Four standard deviations of the estimate of a site, relative to its size:
 * n blocks each taken with probability p and counted 1/p times have a
 * relative deviation of sqrt((1 - p) / (n p)). (A site that expects less
 * than one sample is 0, or one sample at 1/p times its block, many times
 * the truth: a bound of 100% would fail one seed in seven.)
 */
function bound(s) {
  const p = -Math.expm1(-s.size / T);
  return 4 * Math.sqrt((1 - p) / (s.n * p));
}

for (const seed of [1, 2, 3, 4, 5]) {
  test(`seed ${seed}: estimates within four standard deviations, big sites always found`, (t) => {
    const dir = tmpdir(t);
    const r = run(PROG, [], {
      env: tracedEnv(dir, { LEAKTRACE_SAMPLE: String(T), LEAKTRACE_SEED: String(seed) }), cwd: dir,
    });
    assertStatus(r);
    assert.match(r.stdout, /^sampling: 122120 blocks kept$/m);
    const file = path.join(dir, `leaktrace.${r.pid}.lt`);
    const rep = report([file]);
    assert.equal(rep.verdicts.estimated, true, 'a sampled trace is marked as estimates');
    for (const [name, s] of Object.entries(SITES)) {
      const truth = s.n * s.size;
      const found = rep.sites.filter((x) => frameAt(x.frames[0], SRC, M.LEAK[name]));
      assert.ok(found.length <= 1, `${name}: one site at most`);
      if (truth > 0.05 * total)
        assert.equal(found.length, 1, `${name} holds ${(100 * truth / total).toFixed(1)}% of the leak: must be found`);
      if (!found.length)
        continue;
      const est = found[0].live_bytes;
      const err = Math.abs(est - truth) / truth;
      const b = Math.max(bound(s), 0.02);
      assert.ok(err <= b, `${name}: estimated ${est} bytes for ${truth} (error ${(100 * err).toFixed(1)}%, bound ${(100 * b).toFixed(1)}%)`);
    }
    // Nothing of the churn stays: it freed all it took.
    const other = rep.sites.filter((x) => !Object.keys(SITES).some((n) => frameAt(x.frames[0], SRC, M.LEAK[n])) &&
      x.frames.some((f) => f.function === 'churn'));
    assert.equal(other.length, 0, `churn sites left: ${JSON.stringify(other.map((x) => x.live_bytes))}`);
  });
}

test('a new thread\'s first allocation is sampled as any other: 2000 threads leaking one block each', (t) => {
  const dir = tmpdir(t);
  const r = run(PROG, ['threads'], { env: tracedEnv(dir, { LEAKTRACE_SAMPLE: String(T), LEAKTRACE_SEED: '7' }), cwd: dir });
  assertStatus(r);
  assert.equal(r.stdout, 'sampling: 2000 threads\n');
  const rep = report([path.join(dir, `leaktrace.${r.pid}.lt`)]);
  const s = { n: 2000, size: 4000 };
  const truth = s.n * s.size;
  const est = rep.sites.filter((x) => frameAt(x.frames[0], SRC, M.LEAK.thread)).reduce((a, x) => a + x.live_bytes, 0);
  const err = Math.abs(est - truth) / truth;
  assert.ok(err <= bound(s), `estimated ${est} bytes for ${truth} (error ${(100 * err).toFixed(1)}%, bound ${(100 * bound(s)).toFixed(1)}%)`);
});

test('leaktrace run --sample 64K: LEAKTRACE_SAMPLE for the command, estimates in its report', (t) => {
  const dir = tmpdir(t);
  const r = run(LEAKTRACE, ['run', '--sample', '64K', '-o', dir, '--no-report', '--', PROG], { env: cleanEnv(), cwd: dir });
  assertStatus(r);
  const [file] = traceFiles(dir);
  const rep = report([path.join(dir, file)]);
  assert.equal(rep.verdicts.estimated, true);
  const text = run(LEAKTRACE, ['report', '--top', '1', path.join(dir, file)]);
  assert.match(text.stdout, /^note: sampled \(one allocation per 65536 bytes on average\): figures are estimates$/m);
  // The variable takes the same suffixes.
  const envDir = tmpdir(t);
  const viaEnv = run(PROG, [], { env: tracedEnv(envDir, { LEAKTRACE_SAMPLE: '64K' }), cwd: envDir });
  assertStatus(viaEnv);
  assert.ok(!/LEAKTRACE_SAMPLE/.test(viaEnv.stderr), viaEnv.stderr);
  const envText = run(LEAKTRACE, ['report', '--top', '1', path.join(envDir, traceFiles(envDir)[0])]);
  assert.match(envText.stdout, /^note: sampled \(one allocation per 65536 bytes on average\): figures are estimates$/m);
  const bad = run(LEAKTRACE, ['run', '--sample', '2G', '--', PROG]);
  assertStatus(bad, 2);
  assert.match(bad.stderr, /^leaktrace run: --sample wants a number of bytes from 0 to 1G/);
});
