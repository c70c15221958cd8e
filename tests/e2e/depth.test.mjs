// Depth: LEAKTRACE_DEPTH bounds the frames kept per stack.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import {
  assertLeak, assertLive, assertStatus, frameAt, header, markers, prog, report, run, siteAt, src,
  tmpdir, tracedEnv,
} from './lib.mjs';

const DEEP = prog('deep');
const DEEP_C = src('deep.c');
const M = markers(DEEP_C);

function traced(t, extra) {
  const dir = tmpdir(t);
  const r = run(DEEP, [], { env: tracedEnv(dir, extra), cwd: dir });
  assertStatus(r);
  const file = path.join(dir, `leaktrace.${r.pid}.lt`);
  return { h: header(file), rep: report([file]) };
}

/** Checks frames[0..n) of the recursion: the leak, then the recursive calls. */
function checkRecursion(frames, n) {
  assert.ok(frameAt(frames[0], DEEP_C, M.LEAK.deep), `frame 0 ${JSON.stringify(frames[0])}`);
  for (let i = 0; i < n; i++) {
    assert.equal(frames[i].function, 'recurse', `frame ${i} ${JSON.stringify(frames[i])}`);
    if (i > 0) assert.ok(frameAt(frames[i], DEEP_C, M.CALL.recurse), `frame ${i} ${JSON.stringify(frames[i])}`);
  }
}

test('default depth: the whole 10-deep recursion and main', (t) => {
  const { h, rep } = traced(t, {});
  assert.equal(h.depth, 64);
  const site = siteAt(rep, DEEP_C, M.LEAK.deep);
  assertLeak(site, 1, 4242, 'deep');
  assertLive(rep, { live_bytes: 4242, live_blocks: 1 });
  assert.ok(site.frames.length > 10, `${site.frames.length} frames`);
  checkRecursion(site.frames, 10);
  assert.equal(site.frames[10].function, 'main');
  assert.ok(frameAt(site.frames[10], DEEP_C, M.CALL.main), JSON.stringify(site.frames[10]));
});

test('LEAKTRACE_DEPTH=4: at most 4 frames, innermost first', (t) => {
  const { h, rep } = traced(t, { LEAKTRACE_DEPTH: '4' });
  assert.equal(h.depth, 4);
  const site = siteAt(rep, DEEP_C, M.LEAK.deep);
  assertLeak(site, 1, 4242, 'deep');
  assertLive(rep, { live_bytes: 4242, live_blocks: 1 });
  assert.ok(site.frames.length >= 1 && site.frames.length <= 4, `${site.frames.length} frames`);
  checkRecursion(site.frames, site.frames.length);
});
