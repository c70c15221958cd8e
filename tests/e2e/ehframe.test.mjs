// Code without an .eh_frame_hdr (nohdr.c): its unwind rules come from
// libdw, which the preload does not link but opens when such code is met:
// at start for the program's own, in the background for a library loaded
// later (the stacks walked meanwhile go to libunwind, which does not read
// such code right). Processes without it never load libdw.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import {
  BUILD, assertLeak, assertStatus, describeSites, frameAt, markers, prog, report, run, src, tmpdir,
  tracedEnv,
} from './lib.mjs';

const NOHDR_C = src('nohdr.c');
const NOHDRLIB_C = src('nohdrlib.c');
const M = markers(NOHDR_C);
const L = markers(NOHDRLIB_C);
const LIB = path.join(BUILD, 'tests', 'libnohdrlib.so');
const BLOCKS = 40;

function traced(t, program) {
  const dir = tmpdir(t);
  const r = run(prog(program), [LIB], { env: tracedEnv(dir), cwd: dir });
  assertStatus(r);
  const rep = report([path.join(dir, `leaktrace.${r.pid}.lt`)]);
  const sites = rep.sites.filter((s) => frameAt(s.frames[0], NOHDRLIB_C, L.LEAK.nohdr));
  const whole = sites.filter((s) => frameAt(s.frames[1], NOHDR_C, M.CALL.main));
  return { out: r.stdout, sites, whole, all: rep.sites };
}

test('a program without the header: libdw opened at start, every stack whole', (t) => {
  const { out, sites, whole, all } = traced(t, 'nohdr_main');
  assert.match(out, /^libdw before: 1$/m);
  assert.equal(whole.length, 1, `one whole stack at the leak:\n${describeSites(all)}`);
  assertLeak(whole[0], BLOCKS, 300, 'nohdr');
  assert.equal(sites.length, 1, describeSites(sites));
  assert.equal(whole[0].frames[1].function, 'main');
});

test('a library without the header, loaded later: libdw opened then, its stacks whole', (t) => {
  const { out, sites, whole, all } = traced(t, 'nohdr');
  assert.match(out, /^libdw before: 0$/m, 'the preload did not load libdw at start');
  assert.match(out, /^libdw after: 1$/m, 'the preload loaded libdw once the library was met');
  const blocks = sites.reduce((n, s) => n + s.live_blocks, 0);
  assert.equal(blocks, BLOCKS, `every block at the leak's line:\n${describeSites(sites)}`);
  assert.equal(whole.length, 1, `one whole stack at the leak:\n${describeSites(all)}`);
  // The first walks, before the background thread's next poll (100 ms),
  // went to libunwind; 40 leaks 25 ms apart leave most of them to libdw.
  assert.ok(whole[0].live_blocks >= BLOCKS / 2,
    `${whole[0].live_blocks} of ${BLOCKS} blocks walked whole:\n${describeSites(sites)}`);
});
