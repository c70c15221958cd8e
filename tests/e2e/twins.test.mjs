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
