// Twins: a library unloaded and another loaded at its addresses, whose code
// there unwinds differently (twins.c). dlclose starts a new epoch of the
// fast unwinder's rules at once, and drops the objects whose CFI it read:
// the twin's stack is walked with its own rules, and comes out the same as
// the first one's, to main. (LEAKTRACE_UNWIND=libunwind walks it wrong:
// libunwind's per-thread cache of frames has no way to be flushed; README,
// Limitations.)
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import {
  assertStatus, describeSites, frameAt, markers, prog, report, run, src, tmpdir, tracedEnv,
} from './lib.mjs';

const TWINS = prog('twins');
const TWINS_C = src('twins.c');
const TWINLIB_C = src('twinlib.c');
const M = markers(TWINS_C);
const L = markers(TWINLIB_C);

test('the twin loaded in the first one\'s place is walked with its own rules', (t) => {
  const dir = tmpdir(t);
  const r = run(TWINS, [path.dirname(TWINS)], { env: tracedEnv(dir), cwd: dir });
  assertStatus(r);
  const at = Object.fromEntries([...r.stdout.matchAll(/libtwin_(\w)\.so twin_alloc (0x[0-9a-f]+)/g)]
    .map(([, k, addr]) => [k, addr]));
  assert.ok(at.a && at.b, `both twins said where they were: ${r.stdout}`);
  assert.equal(at.b, at.a, 'the loader put the second twin where the first was: the case this tests');

  // One stack for both: the same return addresses, walked right.
  const rep = report([path.join(dir, `leaktrace.${r.pid}.lt`)]);
  const found = rep.sites.filter((s) => frameAt(s.frames[0], TWINLIB_C, L.LEAK.twin));
  assert.equal(found.length, 1, `one site at the twins' malloc:\n${describeSites(rep.sites)}`);
  const [site] = found;
  assert.deepEqual([site.live_blocks, site.live_bytes, site.allocations], [2, 111 + 222, 2],
    describeSites([site]));
  const f = site.frames;
  assert.ok(frameAt(f[1], TWINS_C, M.CALL.through), describeSites([site]));
  assert.ok(frameAt(f[2], TWINS_C, M.CALL.main), describeSites([site]));
  assert.ok(f.length >= 4 && f[2].function === 'main', describeSites([site]));
});

test('300 loads and unloads of the twins: every stack walked with its own rules', (t) => {
  // Each twin is loaded and unloaded between two looks at the modules
  // (the loader's allocations come from stacks met before), so that only
  // the loader's counters tell that the code changed: every load or unload
  // is a new epoch. 600 epochs, each with the objects a stack passes
  // through learned again: the unwinder's ring of object segments wraps
  // many times over, and the epoch's 8 bits in a rule's key too.
  const ROUNDS = 300;
  const dir = tmpdir(t);
  const r = run(TWINS, [path.dirname(TWINS), String(ROUNDS)], { env: tracedEnv(dir), cwd: dir });
  assertStatus(r);
  assert.equal(r.stdout, `rounds ${ROUNDS}\n`);
  const rep = report([path.join(dir, `leaktrace.${r.pid}.lt`)]);
  // Every block under the twins' malloc, each stack walked to main with
  // the rules of the twin loaded then (the loader puts a twin where the
  // last one was most times: one stack for those, another for the others).
  const found = rep.sites.filter((s) => frameAt(s.frames[0], TWINLIB_C, L.LEAK.twin));
  const sum = (k) => found.reduce((a, s) => a + s[k], 0);
  assert.deepEqual([sum('live_blocks'), sum('live_bytes'), sum('allocations')],
    [ROUNDS, (ROUNDS / 2) * (111 + 222), ROUNDS], describeSites(rep.sites));
  for (const s of found) {
    assert.ok(frameAt(s.frames[1], TWINS_C, M.CALL.through), describeSites([s]));
    assert.ok(frameAt(s.frames[2], TWINS_C, M.CALL.rounds) && s.frames[2].function === 'main',
      describeSites([s]));
  }
});
