// The install tree: `cmake --install` lays out bin/leaktrace, the preload
// under lib/leaktrace/ and the node module under share/leaktrace/node/
// (man pages under share/man/). The tree is relocatable: installed to one
// prefix, copied to another and the first removed, the copy's leaktrace
// still finds its own preload, which finds its own node module, and both
// leaks are reported at their lines. LEAKTRACE_CMAKE is the cmake of the
// build, LEAKTRACE_INSTALL_LAYOUT the layout it was configured with
// (bindir:preload dir:node module dir:man dir:bash completion dir, relative
// to the prefix).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { BUILD, assertStatus, run, cleanEnv } from './lib.mjs';
import { assertFindsPreload, assertJsTimers, assertNativeLeaks, filesUnder, manPages } from './installed.mjs';

const CMAKE = process.env.LEAKTRACE_CMAKE;
const LAYOUT = process.env.LEAKTRACE_INSTALL_LAYOUT?.split(':');
assert.ok(CMAKE && LAYOUT?.length === 5, 'LEAKTRACE_CMAKE and LEAKTRACE_INSTALL_LAYOUT must be set (ctest sets them)');
const [BINDIR, PRELOADDIR, MODULEDIR, MANDIR, COMPLETIONDIR] = LAYOUT;

test('an install tree copied elsewhere finds its own preload and node module', (t) => {
  // realpath: leaktrace names its preload by its real path.
  const top = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'leaktrace-install-')));
  t.after(() => fs.rmSync(top, { recursive: true, force: true }));
  const first = path.join(top, 'first'), moved = path.join(top, 'elsewhere', 'leaktrace');

  const r = run(CMAKE, ['--install', BUILD, '--prefix', first], { env: cleanEnv(), timeout: 120000 });
  assertStatus(r);
  assert.deepEqual(filesUnder(first), [
    `${BINDIR}/leaktrace`, `${PRELOADDIR}/libleaktrace.so`, `${MODULEDIR}/leaktrace.js`,
    `${MODULEDIR}/inspect.js`,
    `${COMPLETIONDIR}/leaktrace`, `${path.dirname(path.dirname(MODULEDIR))}/doc/leaktrace/copyright`,
    ...manPages().map((m) => `${MANDIR}/${m}`),
  ].sort(), 'the files installed');

  fs.mkdirSync(path.dirname(moved));
  fs.cpSync(first, moved, { recursive: true, verbatimSymlinks: true });
  fs.rmSync(first, { recursive: true });
  const leaktrace = path.join(moved, BINDIR, 'leaktrace');
  assert.equal(fs.statSync(leaktrace).mode & 0o111, 0o111, 'the command is executable');
  assertFindsPreload(t, leaktrace, path.join(moved, PRELOADDIR, 'libleaktrace.so'));
  assertNativeLeaks(t, leaktrace);
  assertJsTimers(t, leaktrace, path.join(moved, MODULEDIR, 'leaktrace.js'));

  // Through a symbolic link, as from a directory on PATH: the tree is found
  // from where the program really is.
  const link = path.join(top, 'leaktrace');
  fs.symlinkSync(leaktrace, link);
  assertFindsPreload(t, link, path.join(moved, PRELOADDIR, 'libleaktrace.so'));
});
