// Exec: the new image writes a new file, leaktrace.<pid>.2.lt; the old one is
// marked complete by exec. With LEAKTRACE_FOLLOW=0 the new image is not traced.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import {
  LEAKTRACE, assertLeak, assertLive, assertStatus, header, markers, processes, prog, report, run, siteAt, src,
  tmpdir, traceFiles, tracedEnv,
} from './lib.mjs';

const EXECS = prog('execs');
const EXECS_C = src('execs.c');
const LEAK = markers(EXECS_C).LEAK;

function checkFirst(dir, file, pid, mode, ended = 'replaced by exec') {
  // Marked as ended by exec (LT_F_EXEC), which the report counts as complete.
  const h = header(path.join(dir, file));
  assert.deepEqual({ pid: h.pid, exec: h.exec, exec_count: h.exec_count },
    { pid, exec: true, exec_count: 0 }, `${file} header`);
  const [p] = processes(report([path.join(dir, file)]));
  assert.deepEqual(p.process, { pid, command: [EXECS, 'first', mode], complete: true, ended });
  assertLeak(siteAt(p, EXECS_C, LEAK.exec_X), 1, 500, 'X');
  assertLive(p, { live_bytes: 500, live_blocks: 1 });
}

for (const mode of ['execve', 'execvp']) {
  test(`${mode}: X in the first file, marked exec; Y in leaktrace.<pid>.2.lt`, (t) => {
    const dir = tmpdir(t);
    const r = run(EXECS, ['first', mode], { env: tracedEnv(dir), cwd: dir });
    assertStatus(r);
    assert.equal(r.stdout, 'second: tracer preloaded\n');
    const files = traceFiles(dir);
    assert.deepEqual(files, [`leaktrace.${r.pid}.lt`, `leaktrace.${r.pid}.2.lt`]);
    checkFirst(dir, files[0], r.pid, mode);

    const h = header(path.join(dir, files[1]));
    assert.deepEqual({ pid: h.pid, complete: h.complete, exec: h.exec, exec_count: h.exec_count },
      { pid: r.pid, complete: true, exec: false, exec_count: 1 }, `${files[1]} header`);
    const [p] = processes(report([path.join(dir, files[1])]));
    assert.deepEqual(p.process, { pid: r.pid, command: [EXECS, 'second'], complete: true, ended: 'exit status 0' });
    assertLeak(siteAt(p, EXECS_C, LEAK.exec_Y), 2, 600, 'Y');
    assertLive(p, { live_bytes: 1200, live_blocks: 2 });
  });
}

test('LEAKTRACE_FOLLOW=0: only the first image is traced', (t) => {
  const dir = tmpdir(t);
  const r = run(EXECS, ['first', 'execve'], { env: tracedEnv(dir, { LEAKTRACE_FOLLOW: '0' }), cwd: dir });
  assertStatus(r);
  assert.equal(r.stdout, 'second: tracer absent\n', 'LD_PRELOAD no longer names the tracer');
  const files = traceFiles(dir);
  assert.deepEqual(files, [`leaktrace.${r.pid}.lt`]);
  checkFirst(dir, files[0], r.pid, 'execve', 'replaced by exec, by an image not traced');
});

test('exec with an empty environment: the file says the image after ran untraced', (t) => {
  const dir = tmpdir(t);
  const r = run(EXECS, ['first', 'cleared'], { env: tracedEnv(dir), cwd: dir });
  assertStatus(r);
  assert.equal(r.stdout, 'second: tracer absent\n');
  const files = traceFiles(dir);
  assert.deepEqual(files, [`leaktrace.${r.pid}.lt`]);
  checkFirst(dir, files[0], r.pid, 'cleared', 'replaced by exec, by an image not traced');
  const text = run(LEAKTRACE, ['report', path.join(dir, files[0])]);
  assert.match(text.stdout, new RegExp(`^pid ${r.pid}: .* \\(replaced by exec; the image after ran untraced: ` +
    'the environment given to exec had no LD_PRELOAD\\)$', 'm'));
});

test('LEAKTRACE_DIR relative (the default): an image exec\'d after a chdir writes beside the first', (t) => {
  const dir = tmpdir(t);
  fs.mkdirSync(path.join(dir, 'elsewhere'));
  const env = tracedEnv(dir);
  delete env.LEAKTRACE_DIR; // ".", the directory the program started in
  const r = run(EXECS, ['first', 'chdir', 'elsewhere'], { env, cwd: dir });
  assertStatus(r);
  assert.equal(r.stdout, 'second: tracer preloaded\n');
  assert.deepEqual(traceFiles(dir), [`leaktrace.${r.pid}.lt`, `leaktrace.${r.pid}.2.lt`]);
  assert.deepEqual(fs.readdirSync(path.join(dir, 'elsewhere')), []);
  const h = header(path.join(dir, `leaktrace.${r.pid}.2.lt`));
  assert.deepEqual({ pid: h.pid, complete: h.complete, exec_count: h.exec_count }, { pid: r.pid, complete: true, exec_count: 1 });
  const [p] = processes(report([path.join(dir, `leaktrace.${r.pid}.2.lt`)]));
  assertLeak(siteAt(p, EXECS_C, LEAK.exec_Y), 2, 600, 'Y');
});
