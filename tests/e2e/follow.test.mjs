// Which processes of a traced tree write a trace (LEAKTRACE_FOLLOW, `leaktrace
// run --follow`): by default the command itself unless it only starts other
// programs (a shell, a package manager), and every node process; with all,
// every process; with none, the command alone. A launcher as the command
// passes it on to the program it starts.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { LEAKTRACE, assertStatus, cleanEnv, prog, report, run, tmpdir, traceFiles } from './lib.mjs';

const NODE = process.execPath;
const EXECS = prog('execs');
// node, which runs a native program and a shell, each of which would trace
// if followed; then exits.
const NODE_SCRIPT = `require('child_process').execFileSync(${JSON.stringify(EXECS)}, ['first', 'execve']);` +
  `require('child_process').execSync('true'); globalThis.kept = Buffer.allocUnsafeSlow(77777);`;

/** The command (basenames of argv[0] and argv[1]) of each trace in dir. */
function commands(dir) {
  return traceFiles(dir).map((f) => {
    const [p] = [report([path.join(dir, f)]).process];
    return p.command.slice(0, 2).map((a) => path.basename(a)).join(' ');
  });
}

function traced(t, follow, argv) {
  const dir = tmpdir(t);
  const r = run(LEAKTRACE, ['run', '-o', dir, '--no-report', ...follow, '--', ...argv],
    { env: cleanEnv(), cwd: dir });
  assertStatus(r);
  return { dir, r, cmds: commands(dir) };
}

test('default: a shell starting node: node alone is traced, not the shell nor the programs node starts', (t) => {
  const { cmds, r } = traced(t, [], ['/bin/sh', '-c', `"${NODE}" -e "$0"; true`, NODE_SCRIPT]);
  assert.deepEqual(cmds, [`${path.basename(NODE)} -e`], r.stderr);
  assert.match(r.stderr, /sh only starts other programs: not traced, the programs it starts are/);
});

test('--follow all: the shell, node, and every program node starts (execs in two images)', (t) => {
  const { cmds, r } = traced(t, ['--follow', 'all'],
    ['/bin/sh', '-c', `"${NODE}" -e "$0"; true`, NODE_SCRIPT]);
  // sh; node; execs first and its second image; the shell of execSync.
  assert.deepEqual(cmds.map((c) => c.split(' ')[0]).sort(),
    ['execs', 'execs', path.basename(NODE), 'sh', 'sh'].sort(), r.stderr);
  assert.doesNotMatch(r.stderr, /not traced/);
});

test('--follow none: the command alone, and nothing it starts loads the preload', (t) => {
  const { cmds } = traced(t, ['--follow', 'none'], [NODE, '-e', NODE_SCRIPT]);
  assert.deepEqual(cmds, [`${path.basename(NODE)} -e`]);
});

test('a package manager started by its #! line (env node npm): npm is named, env is not', (t) => {
  const bin = tmpdir(t);
  const npm = path.join(bin, 'npm');
  fs.writeFileSync(npm, `#!/usr/bin/env -S ${NODE}\nrequire('child_process').execFileSync(${JSON.stringify(NODE)}, ` +
    `['-e', '0'], { stdio: 'inherit' });\n`, { mode: 0o755 });
  const { cmds, r } = traced(t, [], [npm, 'start']);
  assert.deepEqual(cmds, [`${path.basename(NODE)} -e`], r.stderr);
  assert.deepEqual(r.stderr.split('\n').filter((l) => / not traced/.test(l)).map((l) => l.replace(/^leaktrace\[\d+\]: /, '')),
    ['npm is a package manager: not traced, the node processes it starts are (LEAKTRACE_FOLLOW=all traces it too)'], r.stderr);
});

test('a package manager (a node script named npm) is not traced, the node it starts is', (t) => {
  const bin = tmpdir(t);
  const npm = path.join(bin, 'npm');
  fs.writeFileSync(npm, `#!${NODE}\nrequire('child_process').execFileSync(${JSON.stringify(NODE)}, ` +
    `['-e', 'globalThis.kept = Buffer.allocUnsafeSlow(55555); process.exit(0)'], { stdio: 'inherit' });\n`, { mode: 0o755 });
  const { dir, cmds, r } = traced(t, [], [npm, 'start']);
  assert.deepEqual(cmds, [`${path.basename(NODE)} -e`], r.stderr);
  assert.match(r.stderr, /npm is a package manager: not traced/);
  const [only] = traceFiles(dir);
  const rep = report([path.join(dir, only)], ['--top', '0']);
  assert.ok(rep.sites.some((s) => s.live_blocks === 1 && s.live_bytes === 55555),
    'the Buffer of the node npm started');

  const all = traced(t, ['--follow', 'all'], [npm, 'start']);
  assert.deepEqual(all.cmds.sort(), [`${path.basename(NODE)} -e`, `${path.basename(NODE)} npm`].sort());
});

test('LEAKTRACE_FOLLOW=sometimes: one line naming it, then the default', (t) => {
  const { cmds, r } = traced(t, [], ['/usr/bin/env', 'LEAKTRACE_FOLLOW=sometimes', '/bin/sh', '-c', `"${NODE}" -e 0`]);
  // env and sh are the command itself, one image after the other, and only
  // start other programs; sh reads the bad value, node is traced.
  assert.deepEqual(cmds, [`${path.basename(NODE)} -e`]);
  assert.match(r.stderr, /LEAKTRACE_FOLLOW=sometimes is none of node, all, none; using node/);
});

test('launchers as the command (env, timeout) pass it on: the native program they start is traced', (t) => {
  const { cmds, r } = traced(t, [], ['/usr/bin/env', 'timeout', '60', EXECS, 'first', 'execve']);
  assert.deepEqual(cmds, ['execs first', 'execs second'], r.stderr);
  // Said once, by the first that starts another process (env execs
  // timeout in its own): what it starts says it no more.
  assert.deepEqual(r.stderr.split('\n').filter((l) => l.includes('only starts other programs')),
    [r.stderr.split('\n').find((l) => /^leaktrace\[\d+\]: timeout only starts other programs: not traced, the programs it starts are/.test(l))],
    r.stderr);
});

test('a shell script that runs launchers on the way (a pyenv shim): one line for the whole tree', (t) => {
  const { cmds, r } = traced(t, [], ['/bin/sh', '-c', `env true; env true; nice env "${NODE}" -e "$0"`, NODE_SCRIPT]);
  assert.ok(cmds.includes(`${path.basename(NODE)} -e`), `node traced: ${cmds}`);
  const said = r.stderr.split('\n').filter((l) => l.includes('only starts other programs'));
  assert.equal(said.length, 1, r.stderr);
  assert.match(said[0], /: (sh|dash|bash) only starts other programs/);
});

// SIGINT too: a test harness or supervisor stops its child so (the
// terminal's Ctrl-C, sent by the kernel to the whole group, is not passed
// on a second time).
for (const sig of ['SIGTERM', 'SIGINT']) test(`${sig} sent to leaktrace run reaches the program, which ends cleanly: its trace is complete`, async (t) => {
  const dir = tmpdir(t);
  const script = `process.on('${sig}', () => { console.log('got ${sig}'); process.exit(0); });` +
    "setInterval(() => {}, 1000); console.log('ready');";
  const child = spawn(LEAKTRACE, ['run', '-o', dir, '--format', 'json', '--', NODE, '-e', script],
    { env: cleanEnv(), cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '', err = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { err += d; });
  const deadline = Date.now() + 60000;
  while (!out.includes('ready') && Date.now() < deadline) await sleep(50);
  assert.ok(out.includes('ready'), `the program started: ${err}`);
  child.kill(sig);
  const code = await new Promise((resolve) => child.on('exit', (c, s) => resolve(s ?? c)));
  assert.equal(code, 0, err);
  assert.equal(out, `ready\ngot ${sig}\n`);
  const [file] = traceFiles(dir);
  assert.equal(report([path.join(dir, file)]).process.complete, true, 'the trace is complete');
});

test('a wrong LEAKTRACE_ value is said once for the whole tree, not by every process', (t) => {
  const dir = tmpdir(t);
  const r = run(LEAKTRACE, ['run', '-o', dir, '--no-report', '--follow', 'all', '--', '/bin/sh', '-c',
    'true; /bin/true; env /bin/true; /bin/sh -c /bin/true'],
  { env: cleanEnv({ LEAKTRACE_DEPTH: 'abc', LEAKTRACE_START: 'sometimes' }), cwd: dir });
  assertStatus(r);
  const said = r.stderr.split('\n').filter((l) => l.includes('LEAKTRACE_'));
  assert.deepEqual(said.map((l) => l.replace(/^leaktrace\[\d+\]: /, '')), [
    'LEAKTRACE_DEPTH=abc is not a number from 1 to 256; using 64',
    'LEAKTRACE_START=sometimes is neither on nor paused; using on',
  ], r.stderr);
  assert.ok(commands(dir).length >= 4, `every process traced: ${commands(dir)}`);
});
