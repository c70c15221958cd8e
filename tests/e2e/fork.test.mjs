// Fork: the child gets a trace file of its own, starting from the parent's
// state (its live blocks are the child's too), then going its own way.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import {
  assertLeak, assertLive, assertStatus, header, markers, processes, prog, report, run, siteAt, src,
  tmpdir, traceFiles, tracedEnv,
} from './lib.mjs';

const FORKS = prog('forks');
const FORKS_C = src('forks.c');
const LEAK = markers(FORKS_C).LEAK;

test('parent keeps A and C; the child inherits A, frees A2, adds B', (t) => {
  const dir = tmpdir(t);
  const r = run(FORKS, ['basic'], { env: tracedEnv(dir), cwd: dir });
  assertStatus(r);
  const child = Number(/^child (\d+)$/m.exec(r.stdout)?.[1]);
  assert.ok(child > 0, `child pid in: ${r.stdout}`);
  assert.match(r.stdout, new RegExp(`^parent ${r.pid}$`, 'm'));
  const files = traceFiles(dir);
  assert.deepEqual(files.sort(), [`leaktrace.${r.pid}.lt`, `leaktrace.${child}.lt`].sort(), 'one file each');

  const ph = header(path.join(dir, `leaktrace.${r.pid}.lt`));
  const ch = header(path.join(dir, `leaktrace.${child}.lt`));
  assert.deepEqual({ complete: ph.complete, fork_child: ph.fork_child, pid: ph.pid },
    { complete: true, fork_child: false, pid: r.pid }, 'parent header');
  assert.deepEqual({ complete: ch.complete, fork_child: ch.fork_child, pid: ch.pid, fork_parent: ch.fork_parent },
    { complete: true, fork_child: true, pid: child, fork_parent: r.pid }, 'child header');

  const rep = report(files.map((f) => path.join(dir, f)));
  const procs = processes(rep);
  assert.ok(rep.processes, 'several files give "processes"');
  assert.equal(procs.length, 2);
  const parent = procs.find((p) => p.process.pid === r.pid);
  const kid = procs.find((p) => p.process.pid === child);
  assert.ok(parent && kid, `pids ${procs.map((p) => p.process.pid)}`);
  for (const p of [parent, kid]) {
    assert.equal(p.process.complete, true, `${p.process.pid} complete`);
    assert.deepEqual(p.process.command, [FORKS, 'basic']);
  }

  assertLeak(siteAt(parent, FORKS_C, LEAK.fork_A), 1, 1111, 'parent A');
  assertLeak(siteAt(parent, FORKS_C, LEAK.fork_A2), 1, 4444, 'parent A2');
  assertLeak(siteAt(parent, FORKS_C, LEAK.fork_C), 1, 3333, 'parent C');
  assertLive(parent, { live_bytes: 1111 + 4444 + 3333, live_blocks: 3 });

  assertLeak(siteAt(kid, FORKS_C, LEAK.fork_A), 1, 1111, 'child A, inherited');
  assertLeak(siteAt(kid, FORKS_C, LEAK.fork_B), 2, 2222, 'child B');
  assertLive(kid, { live_bytes: 1111 + 2 * 2222, live_blocks: 3 });
});

// A worker names itself after the fork (nginx's "worker process"): its
// report says so, not its parent's command line, which its file was copied
// with.
test('a child that gives itself a title: its report names it by that title', (t) => {
  const dir = tmpdir(t);
  const r = run(FORKS, ['title'], { env: tracedEnv(dir, { LEAKTRACE_TICK_MS: '50' }), cwd: dir });
  assertStatus(r);
  const child = Number(/^title (\d+)$/m.exec(r.stdout)?.[1]);
  assert.ok(child > 0, r.stdout);
  const procs = processes(report(traceFiles(dir).map((f) => path.join(dir, f))));
  assert.deepEqual(procs.map((p) => [p.process.pid, p.process.command]).sort((a, b) => a[0] - b[0]),
    [[r.pid, [FORKS, 'title']], [child, ['forks: worker process']]].sort((a, b) => a[0] - b[0]));
});

test('50 forks while three threads allocate hard: no deadlock, every file complete', (t) => {
  const dir = tmpdir(t);
  const n = 50;
  const r = run(FORKS, ['stress', String(n)], { env: tracedEnv(dir), cwd: dir, timeout: 60000 });
  assertStatus(r);
  assert.equal(r.stdout, `forks: ${n} forks done\n`);
  const files = traceFiles(dir);
  assert.equal(files.length, n + 1, `a file for the parent and each child: ${files}`);
  for (const f of files) {
    const h = header(path.join(dir, f));
    const where = `${f}: ${JSON.stringify(h)}`;
    assert.equal(h.complete, true, where);
    if (h.pid === r.pid) {
      assert.equal(h.fork_child, false, where);
    } else {
      assert.equal(h.fork_child, true, where);
      assert.equal(h.fork_parent, r.pid, where);
    }
  }
  const procs = processes(report(files.map((f) => path.join(dir, f))));
  assert.equal(procs.length, n + 1);
  assert.equal(new Set(procs.map((p) => p.process.pid)).size, n + 1, 'distinct pids');
  assert.ok(procs.every((p) => p.process.complete), 'all complete');
  assert.ok(procs.some((p) => p.process.pid === r.pid), 'the parent is there');
});
