// The Debian package: built by CPack from this build tree into a fresh
// directory, its control fields checked (dependencies from what the
// binaries link, node only suggested), installed with `dpkg -i`, its
// /usr/bin/leaktrace run on a leaking C program and a leaking node script,
// then purged, leaving none of its files.
//
// It installs for the whole machine, so it needs root (or sudo without a
// password) and exits 77, which ctest counts as skipped, without; it never
// touches a leaktrace already there (a package, or files an install of the
// user's left under /usr): it says so and exits 77 too. Run by node itself,
// not `node --test`, so that the 77 reaches ctest; ctest holds a lock file
// around it, so that two build trees never install at once.
//
// LEAKTRACE_CPACK is the build's cpack, LEAKTRACE_VERSION the project's
// version, LEAKTRACE_INSTALL_LAYOUT the layout (bindir:preload dir:node
// module dir:man dir:bash completion dir, relative to the prefix, /usr in
// the package).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { BUILD, assertStatus, cleanEnv, run } from './lib.mjs';
import { assertFindsPreload, assertJsTimers, assertNativeLeaks, manPages } from './installed.mjs';

const CPACK = process.env.LEAKTRACE_CPACK;
const VERSION = process.env.LEAKTRACE_VERSION;
const LAYOUT = process.env.LEAKTRACE_INSTALL_LAYOUT?.split(':');
assert.ok(CPACK && VERSION && LAYOUT?.length === 5,
  'LEAKTRACE_CPACK, LEAKTRACE_VERSION and LEAKTRACE_INSTALL_LAYOUT must be set (ctest sets them)');
const [BINDIR, PRELOADDIR, MODULEDIR, MANDIR, COMPLETIONDIR] = LAYOUT.map((d) => path.join('/usr', d));
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const NAME = 'leaktrace';

function skip(why) {
  process.stdout.write(`package_deb: skipped: ${why}\n`);
  process.exit(77);
}

for (const tool of ['dpkg', 'dpkg-deb', 'dpkg-query'])
  if (spawnSync(tool, ['--version'], { stdio: 'ignore' }).error)
    skip(`no ${tool}: not a Debian system`);
const sudo = process.getuid() === 0 ? [] : ['sudo', '-n'];
if (sudo.length && spawnSync('sudo', ['-n', 'true'], { stdio: 'ignore' }).status !== 0)
  skip('dpkg -i needs root, or sudo without a password');

/** A command as root: directly, or through sudo. */
const asRoot = (cmd, args, opts = {}) =>
  sudo.length ? run(sudo[0], [...sudo.slice(1), cmd, ...args], opts) : run(cmd, args, opts);

/** The package's status as dpkg knows it: null when dpkg has never heard of it. */
function dpkgStatus() {
  const r = run('dpkg-query', ['-W', '-f=${db:Status-Abbrev}|${Version}', NAME]);
  if (r.status !== 0) return null;
  const [abbrev, version] = r.stdout.split('|');
  return { abbrev: abbrev.trim(), version };
}

// Never replace, then remove, a leaktrace that is not this test's.
const before = dpkgStatus();
if (before && before.abbrev !== 'un')
  skip(`a ${NAME} package is on this machine already (dpkg status ${before.abbrev}, version ` +
    `${before.version}); remove it to run this test`);
for (const p of [path.join(BINDIR, 'leaktrace'), PRELOADDIR, MODULEDIR])
  if (fs.existsSync(p)) skip(`${p} exists, from no package; remove that install to run this test`);

let installed = false;
function purge() {
  const r = asRoot('dpkg', ['--purge', NAME]);
  installed = false;
  return r;
}
// Whatever fails, the machine is left as it was found.
process.on('exit', () => {
  if (installed) purge();
});

test('the Debian package: built, installed, used, removed', (t) => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'leaktrace-deb-'));
  t.after(() => fs.rmSync(out, { recursive: true, force: true }));

  const built = run(CPACK, ['-G', 'DEB', '--config', path.join(BUILD, 'CPackConfig.cmake'), '-B', out],
    { env: cleanEnv(), timeout: 300000 });
  assertStatus(built);
  const arch = run('dpkg', ['--print-architecture']).stdout.trim();
  const debs = fs.readdirSync(out).filter((f) => f.endsWith('.deb'));
  assert.deepEqual(debs, [`${NAME}_${VERSION}_${arch}.deb`], 'one package, named for its version');
  const deb = path.join(out, debs[0]);

  const fields = {};
  const info = run('dpkg-deb', ['-f', deb]);
  assertStatus(info);
  for (const m of info.stdout.matchAll(/^([\w-]+): (.*)$/gm)) fields[m[1]] = m[2];
  assert.deepEqual(
    { Package: fields.Package, Version: fields.Version, Architecture: fields.Architecture,
      Section: fields.Section, Suggests: fields.Suggests },
    { Package: NAME, Version: VERSION, Architecture: arch, Section: 'devel', Suggests: 'nodejs' },
    'control fields');
  assert.match(fields.Maintainer ?? '', /^[^<>]+ <[^<>@\s]+@[^<>\s]+>$/, 'Maintainer: a name and an address');
  assert.ok(fields.Description, 'a description');
  // dpkg-shlibdeps' answer, from what the command and the preload link.
  const depends = (fields.Depends ?? '').split(/,\s*/).map((d) => d.split(/[\s(]/)[0]);
  for (const lib of ['libc6', 'libunwind8', 'libdw1', 'libelf1', 'libjansson4'])
    assert.ok(depends.includes(lib), `Depends: ${lib} (it has ${fields.Depends})`);
  assert.ok(!depends.some((d) => /^node/.test(d)), `node suggested, not required: Depends: ${fields.Depends}`);

  installed = true;
  assertStatus(asRoot('dpkg', ['-i', deb], { timeout: 120000 }));
  assert.deepEqual(dpkgStatus(), { abbrev: 'ii', version: VERSION }, 'dpkg: installed');

  const listed = run('dpkg', ['-L', NAME]);
  assertStatus(listed);
  const files = listed.stdout.split('\n').filter((f) => f && fs.lstatSync(f).isFile()).sort();
  // Man pages gzipped, as Debian wants them.
  const want = [path.join(BINDIR, 'leaktrace'), path.join(PRELOADDIR, 'libleaktrace.so'),
    path.join(MODULEDIR, 'leaktrace.js'), path.join(MODULEDIR, 'inspect.js'),
    path.join(COMPLETIONDIR, 'leaktrace'), ...manPages().map((m) => path.join(MANDIR, `${m}.gz`))];
  if (['LICENSE', 'COPYING'].some((f) => fs.existsSync(path.join(ROOT, f))))
    want.push(`/usr/share/doc/${NAME}/copyright`);
  assert.deepEqual(files, want.sort(), 'dpkg -L: the files of the package');

  const leaktrace = path.join(BINDIR, 'leaktrace');
  const version = run(leaktrace, ['--version']);
  assertStatus(version);
  assert.equal(version.stdout, `leaktrace ${VERSION}\n`);
  assertFindsPreload(t, leaktrace, path.join(PRELOADDIR, 'libleaktrace.so'));
  assertNativeLeaks(t, leaktrace);
  assertJsTimers(t, leaktrace, path.join(MODULEDIR, 'leaktrace.js'));

  assertStatus(purge());
  const after = dpkgStatus();
  assert.ok(after === null || after.abbrev === 'un', `dpkg: purged (status ${after?.abbrev})`);
  for (const f of [...files, PRELOADDIR, MODULEDIR, path.dirname(MODULEDIR)])
    assert.equal(fs.existsSync(f), false, `${f}: gone with the package`);
});
