// With the preload: a node process started under LD_PRELOAD gets the module
// through NODE_OPTIONS and writes its state beside its trace file, and so
// does each child it forks, each with its own pid. Run by ctest, which names
// the build directory in LEAKTRACE_BUILD; skipped without it.
'use strict';

const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { test } = require('node:test');
const { MODULE, cleanEnv, fixture, markers, readState, show, siteAt, tmpdir } = require('./helpers');

const BUILD = process.env.LEAKTRACE_BUILD;
const PRELOAD = BUILD && path.join(BUILD, 'libleaktrace.so');
const skip = !PRELOAD || !fs.existsSync(PRELOAD) ? 'needs LEAKTRACE_BUILD with libleaktrace.so (ctest sets it)' : false;

test('node under the preload, and a forked child: one state beside each trace file', { skip }, (t) => {
  const dir = tmpdir(t);
  const FORKS = fixture('forks.js');
  const M = markers(FORKS);
  const env = cleanEnv({ LD_PRELOAD: PRELOAD, LEAKTRACE_DIR: dir, LEAKTRACE_QUIET: '1' });
  // The preload finds the module beside itself in the build tree; point it
  // at this checkout's when the build tree has no copy.
  if (!fs.existsSync(path.join(BUILD, 'node', 'leaktrace.js'))) env.LEAKTRACE_JS_MODULE = MODULE;
  const r = spawnSync(process.execPath, [FORKS], { env, cwd: dir, encoding: 'utf8', timeout: 60000 });
  assert.equal(r.status, 0, `status ${r.status} signal ${r.signal}: ${r.stderr}`);
  const [parent, child] = r.stdout.trim().split('\n').map(Number);
  for (const [pid, n, line] of [[parent, 2, M.PARENT_LEAK.line], [child, 3, M.CHILD_LEAK.line]]) {
    assert.ok(fs.existsSync(path.join(dir, `leaktrace.${pid}.lt`)), `trace file of ${pid}`);
    const s = readState(path.join(dir, `leaktrace.${pid}.js.json`));
    assert.equal(s.pid, pid);
    assert.equal(s.complete, true);
    const x = siteAt(s, FORKS, line);
    assert.deepEqual([x.live, x.created], [n, n], show(s));
  }
});
