// Core: every way of allocating leaks at a known line, amid heavy churn that
// frees all it takes; the report must give each leak exactly, and nothing
// else but what the C library itself keeps (each such block named below).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import {
  LEAKTRACE, assertLeak, assertStatus, describeSites, extractReport, frameAt, header, inModule,
  markers, prog, report, run, siteAt, src, tmpdir, traceFiles, tracedEnv,
} from './lib.mjs';

const LEAKY = prog('leaky');
const LEAKLIB = prog('libleaklib.so');
const LEAKY_C = src('leaky.c');
const LEAKY_CPP = src('leaky_new.cpp');
const LEAKLIB_C = src('leaklib.c');
const marks = {
  [LEAKY_C]: markers(LEAKY_C),
  [LEAKY_CPP]: markers(LEAKY_CPP),
  [LEAKLIB_C]: markers(LEAKLIB_C),
};
const line = (file, kind, name) => {
  const n = marks[file][kind]?.[name];
  assert.ok(n, `${path.basename(file)} has no ${kind}: ${name} marker`);
  return n;
};

// What leaky leaks: the LEAK marker, its source and module, the function the
// line is in, the function that called it, blocks and bytes each.
const LEAKS = [
  { name: 'loop', fn: 'leak_loop', caller: 'main', blocks: 10, size: 100 },
  { name: 'calloc', fn: 'leak_calloc', caller: 'main', blocks: 1, size: 25 * 8 },
  // malloc(10), then realloc to 100, 40, 70000 and 1000: only the last stays.
  { name: 'realloc', fn: 'leak_realloc_chain', caller: 'main', blocks: 1, size: 1000 },
  // strdup("hello, leaktrace"): 16 characters and the NUL; the first frame is
  // the call in leaky.c, not strdup inside libc.
  { name: 'strdup', fn: 'leak_strdup', caller: 'main', blocks: 1, size: 17 },
  { name: 'posix_memalign', fn: 'leak_aligned', caller: 'main', blocks: 1, size: 300 },
  { name: 'aligned_alloc', fn: 'leak_aligned', caller: 'main', blocks: 1, size: 256 },
  { name: 'memalign', fn: 'leak_aligned', caller: 'main', blocks: 1, size: 96 },
  { name: 'valloc', fn: 'leak_aligned', caller: 'main', blocks: 1, size: 1000 },
  // pvalloc gives whole pages: 5000 bytes held are two pages of 4 KiB.
  { name: 'pvalloc', fn: 'leak_aligned', caller: 'main', blocks: 1, size: 8192 },
  { name: 'reallocarray', fn: 'leak_aligned', caller: 'main', blocks: 1, size: 7 * 12 },
  { name: 'inline', fn: 'inline_alloc', inlinedInto: 'leak_inline', blocks: 1, size: 55 },
  { name: 'thread', fn: 'thread_main', blocks: 3, size: 123 },
  { name: 'leaklib', file: LEAKLIB_C, module: LEAKLIB, fn: 'leaklib_leak', caller: 'leak_in_library', blocks: 2, size: 77 },
  // new Widget{}: sizeof(Widget) == 48, asserted in the source.
  { name: 'cxx_new', file: LEAKY_CPP, fn: 'leaky_cxx_new', caller: 'main', blocks: 1, size: 48 },
  { name: 'cxx_new_array', file: LEAKY_CPP, fn: 'leaky_cxx_new_array', caller: 'main', blocks: 1, size: 25 * 4 },
  // new Aligned{}: alignas(64), 256 bytes, through operator new(size_t, align_val_t).
  { name: 'cxx_aligned_new', file: LEAKY_CPP, fn: 'leaky_cxx_aligned_new', caller: 'main', blocks: 1, size: 256 },
];

// Blocks that glibc or libstdc++ allocate and keep until exit, which the
// tracer sees (rightly) and the test accounts for by name. Each may be
// there at most once, as a single block; nothing else may be.
const LIBC_KEEPS = [
  {
    // pthread_create -> allocate_stack -> _dl_allocate_tls -> allocate_dtv:
    // the thread's dynamic thread vector, a calloc made by ld.so. glibc keeps
    // the stack of an exited thread in its cache, and the vector with it.
    name: 'dynamic thread vector of the thread from pthread_create',
    match: (s) => !inModule(s.frames[0], LEAKY) &&
      s.frames.some((f) => frameAt(f, LEAKY_C, line(LEAKY_C, 'LIBC', 'pthread_create'))),
  },
  {
    // dlopen -> _dl_find_object_update -> _dlfo_mappings_segment_allocate:
    // ld.so's table for _dl_find_object, kept for reuse after dlclose.
    name: '_dl_find_object segment from dlopen',
    match: (s) => !inModule(s.frames[0], LEAKY) &&
      s.frames.some((f) => frameAt(f, LEAKY_C, line(LEAKY_C, 'LIBC', 'dlopen'))),
  },
  {
    // libstdc++'s emergency exception-handling pool (eh_alloc.cc), 72704
    // bytes with GCC 12, allocated by its constructor before main and only
    // ever freed by __gnu_cxx::__freeres.
    name: "libstdc++'s emergency exception pool",
    match: (s) => s.frames[0].module !== null && /^libstdc\+\+\.so/.test(path.basename(s.frames[0].module)) &&
      !s.frames.some((f) => inModule(f, LEAKY)),
  },
];

function checkLeaky(proc, stdout) {
  assert.deepEqual(proc.process.command, [LEAKY, LEAKLIB], 'command');
  assert.equal(proc.process.complete, true, 'a clean exit is complete');

  let bytes = 0, blocks = 0;
  const accounted = new Set();
  for (const leak of LEAKS) {
    const file = leak.file ?? LEAKY_C;
    const at = line(file, 'LEAK', leak.name);
    const site = siteAt(proc, file, at);
    accounted.add(site);
    assertLeak(site, leak.blocks, leak.size, `leak ${leak.name}`);
    const [first, second] = site.frames;
    assert.equal(first.function, leak.fn, `leak ${leak.name}: first frame's function`);
    assert.ok(inModule(first, leak.module ?? LEAKY), `leak ${leak.name}: first frame's module ${first.module}`);
    if (leak.inlinedInto) {
      assert.equal(first.inlined, true, `leak ${leak.name}: the inline function's frame is marked inlined`);
      assert.equal(second.function, leak.inlinedInto, `leak ${leak.name}: the frame it was inlined into`);
      assert.ok(frameAt(second, LEAKY_C, line(LEAKY_C, 'CALL', leak.name)),
        `leak ${leak.name}: the call of the inline function: ${JSON.stringify(second)}`);
      assert.notEqual(second.inlined, true, `leak ${leak.name}: the caller is not inlined`);
    } else {
      assert.notEqual(first.inlined, true, `leak ${leak.name}: not inlined`);
    }
    if (leak.caller)
      assert.equal(second?.function, leak.caller, `leak ${leak.name}: the caller's frame`);
    bytes += leak.blocks * leak.size;
    blocks += leak.blocks;
  }

  const churn = proc.sites.filter((s) => s.frames.some((f) => /^(leaky_cxx_)?churn/.test(f.function ?? '')));
  assert.deepEqual(churn, [], `no site from the churn, all of it was freed:\n${describeSites(churn)}`);

  for (const keep of LIBC_KEEPS) {
    const found = proc.sites.filter((s) => !accounted.has(s) && keep.match(s));
    assert.ok(found.length <= 1, `${keep.name}: at most one site:\n${describeSites(found)}`);
    for (const s of found) {
      assert.equal(s.live_blocks, 1, `${keep.name}: one block:\n${describeSites([s])}`);
      accounted.add(s);
      bytes += s.live_bytes;
      blocks += s.live_blocks;
    }
  }
  const unknown = proc.sites.filter((s) => !accounted.has(s));
  assert.deepEqual(unknown, [], `sites that are neither a marked leak nor a known C library block:\n${describeSites(unknown)}`);

  assert.deepEqual(
    { live_bytes: proc.summary.live_bytes, live_blocks: proc.summary.live_blocks },
    { live_bytes: bytes, live_blocks: blocks },
    `summary: the leaks and the C library's own blocks, exactly:\n${describeSites(proc.sites)}`);

  // leaky counts the blocks its churn took (realloc aside) and freed: the
  // process did at least as many; a 4 MiB block was live for a moment.
  const m = /^churn: (\d+) allocations, (\d+) frees$/m.exec(stdout);
  assert.ok(m, `leaky's churn line in: ${stdout}`);
  assert.ok(proc.summary.allocations >= Number(m[1]) + blocks,
    `summary.allocations ${proc.summary.allocations} >= churn ${m[1]} + leaks ${blocks}`);
  assert.ok(proc.summary.frees >= Number(m[2]), `summary.frees ${proc.summary.frees} >= churn ${m[2]}`);
  assert.ok(proc.summary.peak_live_bytes >= 4 << 20, `peak_live_bytes ${proc.summary.peak_live_bytes} >= 4 MiB`);
}

function untracedStdout() {
  const r = run(LEAKY, [LEAKLIB]);
  assertStatus(r);
  return r.stdout;
}

test('LD_PRELOAD, then leaktrace report: each leak exactly, nothing from the churn', (t) => {
  const dir = tmpdir(t);
  const r = run(LEAKY, [LEAKLIB], { env: tracedEnv(dir), cwd: dir });
  assertStatus(r);
  assert.equal(r.stdout, untracedStdout(), 'stdout as without the tracer');
  const files = traceFiles(dir);
  assert.deepEqual(files, [`leaktrace.${r.pid}.lt`], 'one trace file, named by pid');
  const h = header(path.join(dir, files[0]));
  assert.deepEqual({ pid: h.pid, complete: h.complete, exec: h.exec, fork_child: h.fork_child, depth: h.depth },
    { pid: r.pid, complete: true, exec: false, fork_child: false, depth: 64 }, 'header');
  const rep = report([path.join(dir, files[0])]);
  assert.equal(rep.process.pid, r.pid, 'pid');
  checkLeaky(rep, r.stdout);
});

test('leaktrace run --format json: the same report on stderr, exit status passed on', (t) => {
  const dir = tmpdir(t);
  const r = run(LEAKTRACE, ['run', '-o', dir, '--format', 'json', '--', LEAKY, LEAKLIB], { cwd: dir });
  assertStatus(r);
  assert.equal(r.stdout, untracedStdout(), 'the program\'s stdout as without the tracer');
  const rep = extractReport(r.stderr);
  const files = traceFiles(dir);
  assert.deepEqual(files, [`leaktrace.${rep.process.pid}.lt`], 'one trace file in the -o directory');
  checkLeaky(rep, r.stdout);
});

test('report --top N keeps the N largest sites; the text report names file:line', (t) => {
  const dir = tmpdir(t);
  const r = run(LEAKY, [LEAKLIB], { env: tracedEnv(dir), cwd: dir });
  assertStatus(r);
  const file = path.join(dir, `leaktrace.${r.pid}.lt`);
  const full = report([file]);
  const top = report([file], ['--top', '3']);
  assert.deepEqual(top.sites, full.sites.slice(0, 3), '--top 3');
  assert.deepEqual(top.summary, full.summary, '--top leaves the summary whole');

  const text = run(LEAKTRACE, ['report', '--top', '100', file]);
  assertStatus(text);
  for (const leak of LEAKS) {
    const f = leak.file ?? LEAKY_C;
    const where = `${path.basename(f)}:${line(f, 'LEAK', leak.name)}`;
    assert.ok(text.stdout.includes(where), `text report names ${where}:\n${text.stdout}`);
  }
  assert.ok(fs.existsSync(file));
});

// Rust's symbol names, both manglings (tests/programs/rustnames.c gives C
// functions the names rustc gives): named as Rust names them, without the
// legacy mangling's hash or escapes.
test('Rust names, v0 and legacy: demangled as Rust writes them', (t) => {
  const dir = tmpdir(t);
  const r = run(prog('rustnames'), [], { env: tracedEnv(dir), cwd: dir });
  assertStatus(r);
  const rep = report([path.join(dir, `leaktrace.${r.pid}.lt`)]);
  const RN = src('rustnames.c');
  const m = markers(RN).LEAK;
  assert.deepEqual([m.v0, m.legacy, m.generic].map((line) => siteAt(rep, RN, line).frames[0].function),
    ['leaky::inner::leak_v0', 'leaky::inner::leak_legacy', 'leaky::inner::leak_<T>']);
});

// C++ functions inlined from namespaces and classes, without a linkage name
// of their own: named with their namespaces, as the symbols around them are.
test('C++ inlined functions named with their namespaces and classes', (t) => {
  const dir = tmpdir(t);
  const r = run(prog('nsinline'), [], { env: tracedEnv(dir), cwd: dir });
  assertStatus(r);
  const rep = report([path.join(dir, `leaktrace.${r.pid}.lt`)]);
  const NS = src('nsinline.cpp');
  const site = siteAt(rep, NS, markers(NS).LEAK.grab);
  assert.deepEqual(site.frames.slice(0, 4).map((f) => [f.function, f.inlined ?? false]), [
    ['app::net::grab', true],
    ['app::net::Pool::take(unsigned long)', true], // a member: its linkage name, demangled
    ['app::net::(anonymous namespace)::anon', true],
    ['app::net::entry(unsigned long)', false],
  ]);
});
