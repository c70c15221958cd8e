// worker_threads and the libuv thread pool under the tracer: a node program
// whose two workers go through fs, crypto and zlib on the pool round after
// round, keeping nothing, then one of them allocates KEEP Buffers of SIZE
// bytes that the main thread holds until process.exit
// (tests/fixtures/js/workers.js). It must end by itself (no deadlock), with
// a complete trace, nothing dropped, and exactly KEEP blocks of SIZE bytes
// live: the accounting of every other thread's allocations and frees nets
// out. Run three times, to catch a deadlock that comes and goes.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { LEAKTRACE, assertStatus, cleanEnv, describeSites, extractReport, markers, run, tmpdir, traceFiles } from './lib.mjs';

const WORKERS_JS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'js', 'workers.js');
const KEEP = 7;
const SIZE = 100003; // above the Buffer pool's limit, and no other block has it
const ROUNDS = 20;
const RUNS = 3;

test('workers on the libuv pool: no deadlock, exact accounting', (t) => {
  assert.ok(markers(WORKERS_JS).KEEP?.buffers, 'workers.js marks the line that keeps the buffers');
  for (let i = 1; i <= RUNS; i++) {
    const dir = tmpdir(t);
    const started = Date.now();
    const r = run(LEAKTRACE, ['run', '-o', dir, '--format', 'json', '--top', '0', '--',
      process.execPath, WORKERS_JS, dir, String(KEEP), String(SIZE), String(ROUNDS)],
    { env: cleanEnv(), cwd: dir, timeout: 90000 });
    const what = `run ${i} of ${RUNS} (${Date.now() - started} ms)`;
    assertStatus(r);
    assert.equal(r.stdout, `2 workers x ${ROUNDS} rounds; held ${KEEP} x ${SIZE}: ok\n`, `${what}: the program's own checks`);
    const rep = extractReport(r.stderr);
    assert.deepEqual(traceFiles(dir), [`leaktrace.${rep.process.pid}.lt`], `${what}: one process, one trace`);
    assert.equal(rep.process.complete, true, `${what}: the trace is complete`);
    assert.equal('drops' in rep.summary, false, `${what}: nothing dropped: ${JSON.stringify(rep.summary.drops)}`);
    const { summary } = rep;
    assert.equal(summary.allocations - summary.frees, summary.live_blocks, `${what}: allocations - frees = live blocks`);
    const allocSites = rep.sites.filter((s) => s.kind === 'allocation');
    const sum = allocSites.reduce((a, s) => ({ bytes: a.bytes + s.live_bytes, blocks: a.blocks + s.live_blocks }),
      { bytes: 0, blocks: 0 });
    assert.deepEqual(sum, { bytes: summary.live_bytes, blocks: summary.live_blocks },
      `${what}: the summary is the sum of every allocation site`);

    const kept = allocSites.filter((s) => s.live_bytes === s.live_blocks * SIZE);
    const got = kept.reduce((a, s) => ({
      live_blocks: a.live_blocks + s.live_blocks, live_bytes: a.live_bytes + s.live_bytes,
      allocations: a.allocations + s.allocations, bytes_allocated: a.bytes_allocated + s.bytes_allocated,
    }), { live_blocks: 0, live_bytes: 0, allocations: 0, bytes_allocated: 0 });
    assert.deepEqual(got, { live_blocks: KEEP, live_bytes: KEEP * SIZE, allocations: KEEP, bytes_allocated: KEEP * SIZE },
      `${what}: exactly the kept buffers, all of their allocations live:\n${describeSites(kept)}`);
    for (const s of kept) {
      const fns = s.frames.map((f) => f.function ?? '');
      assert.ok(fns.some((f) => f.startsWith('node::NodeArrayBufferAllocator::')), `${what}: node's ArrayBuffer allocator:\n${describeSites([s])}`);
      assert.ok(fns.some((f) => f.startsWith('node::worker::Worker::Run')), `${what}: allocated on a worker's thread:\n${describeSites([s])}`);
    }
  }
});
