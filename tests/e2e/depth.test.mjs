// Depth: LEAKTRACE_DEPTH bounds the frames kept per stack.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import {
  LEAKTRACE, assertLeak, assertLive, assertStatus, frameAt, header, markers, prog, report, run, siteAt, src,
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
  assert.equal(site.stack_cut, 'depth', 'the JSON says the stack was cut');
});

test('a stack cut at LEAKTRACE_DEPTH hangs from a root that says so in the flame graphs', (t) => {
  const dir = tmpdir(t);
  const r = run(DEEP, [], { env: tracedEnv(dir, { LEAKTRACE_DEPTH: '4' }), cwd: dir });
  assertStatus(r);
  const file = path.join(dir, `leaktrace.${r.pid}.lt`);
  const folded = run(LEAKTRACE, ['report', '--format', 'collapsed', file]);
  assertStatus(folded);
  const line = folded.stdout.split('\n').find((l) => / 4242$/.test(l));
  assert.ok(line, folded.stdout);
  assert.ok(line.startsWith('[outer frames cut at LEAKTRACE_DEPTH];recurse;'), line);
  const svg = run(LEAKTRACE, ['report', '--format', 'svg', file]);
  assertStatus(svg);
  assert.match(svg.stdout, /\[outer frames cut at LEAKTRACE_DEPTH\]/);
  const ss = JSON.parse(run(LEAKTRACE, ['report', '--format', 'speedscope', file]).stdout);
  assert.ok(ss.shared.frames.some((f) => f.name === '[outer frames cut at LEAKTRACE_DEPTH]'), 'speedscope has the root');
  // A whole stack has no such root: it starts at the program's start.
  const wdir = tmpdir(t);
  const whole = run(DEEP, [], { env: tracedEnv(wdir), cwd: wdir });
  assertStatus(whole);
  const wline = run(LEAKTRACE, ['report', '--format', 'collapsed', path.join(wdir, `leaktrace.${whole.pid}.lt`)])
    .stdout.split('\n').find((l) => / 4242$/.test(l));
  assert.ok(wline && !wline.startsWith('[') && /;main;recurse;/.test(wline), wline);
});

test('code with neither unwind tables nor frame pointers: the stack is marked cut short', (t) => {
  const NOUNWIND_C = src('nounwind.c');
  const dir = tmpdir(t);
  const r = run(prog('nounwind'), [], { env: tracedEnv(dir), cwd: dir });
  assertStatus(r);
  const file = path.join(dir, `leaktrace.${r.pid}.lt`);
  const site = siteAt(report([file]), NOUNWIND_C, markers(NOUNWIND_C).LEAK.level3);
  assert.deepEqual([site.live_bytes, site.stack_cut], [4321, 'walk'], JSON.stringify(site).slice(0, 400));
  const text = run(LEAKTRACE, ['report', file]);
  assert.match(text.stdout, /#0 level3 \(.*nounwind\.c:\d+\) \[nounwind\]\n  \.\.\. \(cut short: its outer frames could not be found\)\n/);
  const folded = run(LEAKTRACE, ['report', '--format', 'collapsed', file]).stdout;
  assert.match(folded, /^\[outer frames not found by the unwinder\];level3 \(nounwind\.c:\d+\) 4321$/m);
});
