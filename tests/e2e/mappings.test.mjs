// Mapping sites: anonymous memory made by mmap, moved and resized by
// mremap, cut by munmap and opened by mprotect (tests/programs/maps.c). Each
// site's figures must be exact: bytes mapped now, regions, the calls that
// mapped, and the bytes mapped in all, which memory that only moved does
// not count twice. And code mapped again from its file, as V8 maps node's
// builtins (tests/programs/alias.c): its frames named as the original's.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import {
  LEAKTRACE, assertLeak, assertStatus, describeSites, frameAt, markers, prog, report, run, src, tmpdir, tracedEnv,
} from './lib.mjs';

const MAPS = prog('maps');
const MAPS_C = src('maps.c');
const MARK = markers(MAPS_C).MAP;

test('mmap, mremap, munmap and mprotect: each site exact', (t) => {
  const dir = tmpdir(t);
  const r = run(MAPS, [], { env: tracedEnv(dir) });
  assertStatus(r);
  const page = Number(/^page (\d+)$/m.exec(r.stdout)?.[1]);
  assert.ok(page >= 4096, r.stdout);
  const rep = report([path.join(dir, `leaktrace.${r.pid}.lt`)]);
  const maps = rep.sites.filter((s) => s.kind === 'mapping' && s.frames.some((f) => f.file?.endsWith('maps.c')));
  const at = (name) => {
    const found = maps.filter((s) => frameAt(s.frames[0], MAPS_C, MARK[name]));
    assert.equal(found.length, 1, `one mapping site at maps.c:${MARK[name]} (${name}); sites:\n${describeSites(maps)}`);
    const s = found[0];
    return { live_bytes: s.live_bytes, regions: s.live_blocks, calls: s.allocations, bytes_in_all: s.bytes_allocated };
  };
  const want = (pages, regions, calls, allPages) =>
    ({ live_bytes: pages * page, regions, calls, bytes_in_all: allPages * page });
  assert.deepEqual(at('kept'), want(8, 1, 1, 8), 'kept');
  assert.deepEqual(at('moved'), want(8, 1, 1, 8), 'moved: the move is not mapped again');
  assert.deepEqual(at('grown'), want(12, 1, 1, 12), 'grown: 4 mapped, 8 more by the mremap');
  assert.deepEqual(at('shrunk'), want(2, 1, 1, 8), 'shrunk');
  assert.deepEqual(at('holed'), want(6, 2, 1, 8), 'holed');
  assert.deepEqual(at('opened'), want(4, 1, 1, 4), 'opened by mprotect');
  // Nothing else of the program's: the unmapped one and the reservations
  // (PROT_NONE, never opened where they lie) have no site.
  assert.equal(maps.length, 6, describeSites(maps));
  // The text report says the mapped memory beside what malloc holds: at
  // least the sites' 40 pages.
  const text = run(LEAKTRACE, ['report', path.join(dir, `leaktrace.${r.pid}.lt`)]);
  assertStatus(text);
  const mapped = /\nmapped: ([\d.]+) (KiB|MiB) of anonymous memory \(mmap, not malloc\); peak [\d.]+ (KiB|MiB)\n/.exec(text.stdout);
  assert.ok(mapped, text.stdout.slice(0, 800));
  assert.ok(Number(mapped[1]) * (mapped[2] === 'MiB' ? 1 << 20 : 1024) >= 40 * page, mapped[0]);
});

test('code mapped again from its file: its frames named as the original code', (t) => {
  const ALIAS_C = src('alias.c');
  const M = markers(ALIAS_C);
  const dir = tmpdir(t);
  const r = run(prog('alias'), [], { env: tracedEnv(dir) });
  assertStatus(r);
  const rep = report([path.join(dir, `leaktrace.${r.pid}.lt`)]);
  // Two sites at the same line of alloc_via, told apart by their callers.
  const sites = rep.sites.filter((s) => frameAt(s.frames[0], ALIAS_C, M.LEAK.via));
  assert.equal(sites.length, 2, describeSites(rep.sites));
  for (const [call, size] of [['copy', 777], ['direct', 555]]) {
    const s = sites.find((x) => frameAt(x.frames[1], ALIAS_C, M.CALL[call]));
    assert.ok(s, `the block allocated through the ${call} call; sites:\n${describeSites(rep.sites)}`);
    assertLeak(s, 1, size, call);
    assert.equal(s.frames[0].function, 'alloc_via', call);
    assert.equal(path.basename(s.frames[0].module), 'alias', call);
  }
});
