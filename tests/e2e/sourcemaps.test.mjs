// Source maps: node runs what a build made (tsc's dist/, an esbuild bundle),
// and the report shows the sources it was made from. The fixture
// (tests/fixtures/js/mapped, rebuilt by its build.sh) keeps 2000 Buffers
// from leakBuffers in src/store.ts and leaves intervals running: from
// tsc's output with a .map beside each script, and from one bundle whose
// map is inline and holds a package's code too, where the timer sites are
// the application's calls, not the package's setInterval. Then the map's
// other forms (sections, data: URL, sourceRoot) and what can be wrong with
// it: each said in one warning line, the frame left where node ran it. A
// map's sourcesContent gives markdown its quoted lines without the files.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { LEAKTRACE, assertStatus, checkSchema, cleanEnv, extractReport, markers, run, tmpdir } from './lib.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const FIXTURE = path.join(ROOT, 'tests', 'fixtures', 'js', 'mapped');
const NODE = process.execPath;
const BUFFERS = 2000;

/** The 1-based line of FILE that contains TEXT (once). */
function lineOf(file, text) {
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  const at = lines.flatMap((l, i) => (l.includes(text) ? [i + 1] : []));
  assert.equal(at.length, 1, `${file}: '${text}' on one line: ${at}`);
  return at[0];
}

/** A copy of the fixture in a fresh directory (its maps may be edited there). */
function copyFixture(t) {
  const dir = tmpdir(t);
  for (const d of ['src', 'dist', 'bundle']) fs.cpSync(path.join(FIXTURE, d), path.join(dir, d), { recursive: true });
  return dir;
}

/** `leaktrace run --format json -- node SCRIPT` with the trace in a directory of its own. */
function traced(t, script, cwd) {
  const out = tmpdir(t);
  const r = run(LEAKTRACE, ['run', '-o', out, '--format', 'json', '--top', '0', '--', NODE, script],
    { env: cleanEnv(), cwd, timeout: 90000 });
  assertStatus(r);
  assert.equal(r.stdout, `kept ${BUFFERS}\n`, 'the script ran as without the tracer');
  const rep = extractReport(r.stderr);
  const pid = rep.process.pid;
  t.after(() => fs.rmSync(`/tmp/perf-${pid}.map`, { force: true }));
  return { rep, trace: path.join(out, `leaktrace.${pid}.lt`) };
}

/** `leaktrace report --format json ARGS TRACE` with ENV: the report and stderr's lines. */
function reportOf(trace, args = [], env = {}) {
  const r = run(LEAKTRACE, ['report', '--format', 'json', '--top', '0', ...args, trace], { env: cleanEnv(env) });
  assertStatus(r);
  return { rep: checkSchema(JSON.parse(r.stdout)), warnings: r.stderr.split('\n').filter(Boolean) };
}

const esc = (s) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
const isLeakBuffers = (f) => f.js && f.function === 'leakBuffers';
/**
 * The Buffers' sites: 4096 bytes a block or more, an ArrayBuffer's backing
 * store under leakBuffers (not V8's own tables that grow to 4 KiB while it
 * compiles leakBuffers again).
 */
const isBackingStore = (f) => /^v8::internal::BackingStore::Allocate\b/.test(f.function ?? '');
const bufferSites = (rep) => rep.sites.filter((s) =>
  s.kind === 'allocation' && s.live_bytes / s.live_blocks >= 4096 && s.frames.some(isLeakBuffers) &&
  s.frames.some(isBackingStore));

/** Every Buffer under one leakBuffers frame at WANT (file, line, and generated or not). */
function assertBuffersAt(rep, want) {
  const sites = bufferSites(rep);
  const others = rep.sites.filter((s) => s.kind === 'allocation' && s.live_bytes / s.live_blocks >= 4096 &&
    s.live_bytes / s.live_blocks < 4096 + 50 && !sites.includes(s));
  assert.equal(sites.reduce((a, s) => a + s.live_blocks, 0), BUFFERS, 'every Buffer under leakBuffers; ' +
    `the other sites of their sizes:\n${others.map((s) => `${s.live_blocks} blocks: ${s.frames.slice(0, 20)
      .map((f) => `${f.function ?? f.address} ${f.file ? path.basename(f.file) : ''}`).join(' <- ')}`).join('\n')}`);
  for (const s of sites) {
    const f = s.frames.find(isLeakBuffers);
    assert.equal(f.file, want.file, 'the frame\'s file');
    assert.equal(f.line, want.line, 'the frame\'s line');
    assert.deepEqual(f.generated && { file: f.generated.file, line: f.generated.line }, want.generated,
      'where node ran it');
  }
}

/** The JS timer sites: file and line of each frame shown, and the live count. */
const jsTimers = (rep) => rep.timers.filter((tm) => tm.kind === 'js').map((tm) => ({
  live: tm.live,
  at: tm.frames.slice(0, 2).map((f) => `${f.file}:${f.line}`),
}));

test('tsc output: Buffers and timers at the TypeScript lines, where node ran them kept', (t) => {
  const dir = copyFixture(t);
  const { rep, trace } = traced(t, path.join(dir, 'dist', 'main.js'), dir);
  const src = path.join(dir, 'src', 'store.ts'), dist = path.join(dir, 'dist', 'store.js');
  const store = markers(src);
  const mapped = {
    file: src, line: store.FUNCTION.leakBuffers,
    generated: { file: dist, line: lineOf(dist, 'function leakBuffers(') },
  };
  assertBuffersAt(rep, mapped);
  assert.notEqual(mapped.line, mapped.generated.line, 'the fixture\'s lines differ, or the test could not tell');
  const main = path.join(dir, 'src', 'main.ts');
  assert.deepEqual(jsTimers(rep), [{
    live: 3, at: [`${src}:${store.TIMER.poll}`, `${main}:${lineOf(main, 'startPolling(60000)')}`],
  }], 'one site: setInterval in startPolling, called from main.ts');
  const timer = rep.timers.find((tm) => tm.kind === 'js').frames[0];
  assert.deepEqual(timer.generated, { file: dist, line: lineOf(dist, 'setInterval(check, ms)'), column: 5 },
    'where node made the timer');

  // The formats for people and tools name the sources too.
  const text = run(LEAKTRACE, ['report', trace], { env: cleanEnv() });
  assertStatus(text);
  assert.match(text.stdout, new RegExp(`leakBuffers \\(${esc(src)}:${mapped.line}:\\d+\\) \\[JS\\]`));
  assert.match(text.stdout, new RegExp(`startPolling \\(${esc(src)}:${store.TIMER.poll}:3\\)`));
  assert.equal(text.stderr, '', 'nothing to warn of');
  const sarif = run(LEAKTRACE, ['report', '--format', 'sarif', trace], { env: cleanEnv() });
  assertStatus(sarif);
  const uris = JSON.parse(sarif.stdout).runs[0].results.flatMap((res) =>
    (res.locations ?? []).map((l) => l.physicalLocation?.artifactLocation?.uri ?? ''));
  assert.ok(uris.some((u) => u.endsWith('/src/store.ts')), `a SARIF result in store.ts: ${uris}`);
  assert.ok(!uris.some((u) => u.endsWith('/dist/store.js')), `none in dist/store.js: ${uris}`);

  // Off: where node ran them, nothing generated.
  const off = reportOf(trace, ['--source-maps', 'off']);
  assertBuffersAt(off.rep, { file: dist, line: mapped.generated.line, generated: undefined });
  assert.deepEqual(off.warnings, []);
  assert.deepEqual(reportOf(trace, [], { LEAKTRACE_SOURCE_MAPS: 'off' }).rep.sites, off.rep.sites,
    'LEAKTRACE_SOURCE_MAPS=off as --source-maps off');
});

test('an esbuild bundle, its map inline: the timer site is the application\'s call, not the package\'s', (t) => {
  const dir = copyFixture(t);
  const app = path.join(dir, 'bundle', 'app.js');
  const { rep, trace } = traced(t, app, dir);
  const src = path.join(dir, 'src', 'store.ts');
  assertBuffersAt(rep, {
    file: src, line: markers(src).FUNCTION.leakBuffers,
    generated: { file: app, line: lineOf(app, 'function leakBuffers(') },
  });
  const bundle = path.join(dir, 'src', 'bundle.ts');
  const pkg = path.join(dir, 'node_modules', 'fake-poller', 'index.js');
  const inPkg = `${pkg}:${markers(path.join(FIXTURE, 'packages', 'fake-poller', 'index.js')).TIMER.package}`;
  const calls = markers(bundle).CALL;
  assert.deepEqual(jsTimers(rep), [
    { live: 2, at: [`${bundle}:${calls.poll}`, inPkg] },
    { live: 1, at: [`${bundle}:${calls.again}`, inPkg] },
  ], 'a site for each of bundle.ts\'s calls to poll, the package\'s setInterval below it');

  // The sources are in the map (sourcesContent): markdown quotes their
  // lines with no file on disk, as a report read on another machine.
  const leakLine = fs.readFileSync(src, 'utf8').split('\n')[markers(src).FUNCTION.leakBuffers - 1].trim();
  fs.rmSync(path.join(dir, 'src'), { recursive: true });
  const md = run(LEAKTRACE, ['report', '--format', 'markdown', trace], { env: cleanEnv() });
  assertStatus(md);
  assert.ok(md.stdout.includes(`${markers(path.join(FIXTURE, 'src', 'store.ts')).FUNCTION.leakBuffers} | ${leakLine}`),
    `the line of leakBuffers quoted from the map: ${md.stdout.split('\n').filter((l) => l.includes('store.ts')).slice(0, 3)}`);
});

test('a minified bundle: its functions under their names in the sources, at their lines', (t) => {
  const dir = copyFixture(t);
  const min = path.join(dir, 'bundle', 'min.js');
  const { rep } = traced(t, min, dir);
  const src = path.join(dir, 'src', 'store.ts');
  assert.doesNotMatch(fs.readFileSync(min, 'utf8'), /leakBuffers/, 'the minifier renamed it');
  assertBuffersAt(rep, { file: src, line: markers(src).FUNCTION.leakBuffers, generated: { file: min, line: 1 } });
  const bundle = path.join(dir, 'src', 'bundle.ts');
  const inPkg = `${path.join(dir, 'node_modules', 'fake-poller', 'index.js')}:` +
    `${markers(path.join(FIXTURE, 'packages', 'fake-poller', 'index.js')).TIMER.package}`;
  assert.deepEqual(jsTimers(rep), [
    { live: 2, at: [`${bundle}:${markers(bundle).CALL.poll}`, inPkg] },
    { live: 1, at: [`${bundle}:${markers(bundle).CALL.again}`, inPkg] },
  ], 'the timers at bundle.ts\'s calls');
});

test('a map as sections, as a data: URL, with a sourceRoot: the same positions', (t) => {
  const dir = copyFixture(t);
  const { trace } = traced(t, path.join(dir, 'dist', 'main.js'), dir);
  const src = path.join(dir, 'src', 'store.ts'), dist = path.join(dir, 'dist', 'store.js');
  const mapFile = `${dist}.map`;
  const map = JSON.parse(fs.readFileSync(mapFile, 'utf8'));
  const script = fs.readFileSync(dist, 'utf8');
  const want = {
    file: src, line: markers(src).FUNCTION.leakBuffers,
    generated: { file: dist, line: lineOf(dist, 'function leakBuffers(') },
  };
  // Written before the trace began, as a build's output is.
  const old = new Date(Date.now() - 3600e3);
  const write = (file, text) => {
    fs.writeFileSync(file, text);
    fs.utimesSync(file, old, old);
  };
  const variants = {
    sections: () => write(mapFile, JSON.stringify({ version: 3, sections: [{ offset: { line: 0, column: 0 }, map }] })),
    'data: URL': () => write(dist, script.replace(/\/\/# sourceMappingURL=.*$/m,
      `//# sourceMappingURL=data:application/json;charset=utf-8;base64,${Buffer.from(JSON.stringify(map)).toString('base64')}`)),
    sourceRoot: () => write(mapFile, JSON.stringify({ ...map, sourceRoot: '../src/', sources: ['store.ts'] })),
    'a file: URL': () => write(dist, script.replace(/\/\/# sourceMappingURL=.*$/m,
      `//# sourceMappingURL=file://${mapFile}`)),
    'a query': () => write(dist, script.replace(/\/\/# sourceMappingURL=.*$/m,
      '//# sourceMappingURL=store.js.map?v=3#x')),
  };
  for (const [name, make] of Object.entries(variants)) {
    write(mapFile, JSON.stringify(map));
    write(dist, script);
    make();
    const { rep, warnings } = reportOf(trace);
    assert.deepEqual(warnings, [], `${name}: no warning`);
    assertBuffersAt(rep, want);
  }

  // webpack names its sources webpack://NAMESPACE/./PATH: shown as it is,
  // and placed by SARIF relative to the project (SRCROOT).
  write(dist, script);
  write(mapFile, JSON.stringify({ ...map, sources: ['webpack://app/./src/store.ts'] }));
  assertBuffersAt(reportOf(trace).rep, { ...want, file: 'webpack://app/./src/store.ts' });
  const sarif = run(LEAKTRACE, ['report', '--format', 'sarif', trace], { env: cleanEnv() });
  assertStatus(sarif);
  const where = JSON.parse(sarif.stdout).runs[0].results.flatMap((res) =>
    (res.locations ?? []).map((l) => l.physicalLocation?.artifactLocation));
  assert.ok(where.some((a) => a?.uri === 'src/store.ts' && a.uriBaseId === 'SRCROOT'),
    `a location at src/store.ts under SRCROOT: ${JSON.stringify(where).slice(0, 400)}`);
});

test('a package that ships its own map: its frames stay the package\'s, the site is the application\'s line', (t) => {
  const dir = tmpdir(t);
  const pkg = path.join(dir, 'node_modules', 'shipped');
  fs.mkdirSync(pkg, { recursive: true });
  // Built elsewhere from webpack://shipped/./src/index.ts: line L of the
  // script is line L + 10 of that source.
  const lines = [
    '\'use strict\';',
    'const kept = [];',
    'exports.reserve = function reserve(n) {',
    '  for (let i = 0; i < n; i++) kept.push(Buffer.alloc(4096 + (i % 50)));',
    '  return kept.length;',
    '};',
    'exports.every = function every(fn, ms) {',
    '  return setInterval(fn, ms);',
    '};',
  ];
  fs.writeFileSync(path.join(pkg, 'index.js'), `${lines.join('\n')}\n//# sourceMappingURL=index.js.map\n`);
  fs.writeFileSync(path.join(pkg, 'index.js.map'), JSON.stringify({
    version: 3, sources: ['webpack://shipped/./src/index.ts'], names: [],
    mappings: ['AAUA', ...lines.slice(1).map(() => 'AACA')].join(';'),
  }));
  fs.writeFileSync(path.join(pkg, 'package.json'), '{"name":"shipped","version":"1.0.0","main":"index.js"}');
  // And one that names a map it does not ship, as many do.
  const nomap = path.join(dir, 'node_modules', 'nomap');
  fs.mkdirSync(nomap);
  fs.writeFileSync(path.join(nomap, 'index.js'), 'const kept = [];\nexports.more = function more(n) {\n' +
    '  for (let i = 0; i < n; i++) kept.push(Buffer.alloc(8192));\n};\n//# sourceMappingURL=index.js.map\n');
  const app = path.join(dir, 'app.js');
  fs.writeFileSync(app, [
    'const shipped = require(\'shipped\');',
    `const n = shipped.reserve(${BUFFERS}); /* CALL: reserve */`,
    'for (let i = 0; i < 2; i++) shipped.every(() => n, 60000); /* CALL: every */',
    'require(\'nomap\').more(100);',
    'console.log(`kept ${n}`);',
    'setTimeout(() => process.exit(0), 100);',
    '',
  ].join('\n'));
  const old = new Date(Date.now() - 3600e3);
  for (const f of [path.join(pkg, 'index.js'), path.join(pkg, 'index.js.map'), path.join(nomap, 'index.js'), app])
    fs.utimesSync(f, old, old);
  const { trace } = traced(t, app, dir);
  const { rep, warnings } = reportOf(trace);
  assert.deepEqual(warnings, [`leaktrace: warning: 1 script under node_modules names a source map that is not ` +
    `there (${path.join(nomap, 'index.js')}); its frames keep the script's positions`], 'one line for them all');
  assert.ok(rep.sites.some((x) => x.frames.some((f) => f.function === 'more' && f.file === path.join(nomap, 'index.js'))),
    'its frames where node ran them');
  const calls = markers(app).CALL;
  const sites = rep.sites.filter((s) => s.kind === 'allocation' && s.live_bytes / s.live_blocks >= 4096 &&
    s.frames.some((f) => f.js && f.function === 'reserve') && s.frames.some(isBackingStore));
  assert.equal(sites.reduce((a, s) => a + s.live_blocks, 0), BUFFERS, 'every Buffer under reserve');
  for (const s of sites) {
    const f = s.frames.find((x) => x.js && x.function === 'reserve');
    assert.deepEqual([f.file, f.line, f.generated?.file], ['webpack://shipped/./src/index.ts', 13,
      path.join(pkg, 'index.js')], 'the package\'s frame at its source');
  }
  // Where the report says each site is: the application's line, not the package's source.
  const md = run(LEAKTRACE, ['report', '--format', 'markdown', '--top', '0', trace], { env: cleanEnv() });
  assertStatus(md);
  const rows = md.stdout.split('\n').filter((l) => /^\| \d+ \|/.test(l) &&
    sites.some((x) => l.includes(`(${x.live_bytes} bytes)`)));
  assert.ok(rows.length > 0, 'the Buffers\' sites in the table');
  // (A JS frame is where its function starts: the module's code, line 1.)
  assert.deepEqual(rows.filter((l) => !l.includes('`app.js:1 (anonymous)`')), [],
    'each at app.js, whose code called the package');
  const ck = run(LEAKTRACE, ['check', '--max-live-timers', '0', trace], { env: cleanEnv() });
  assert.equal(ck.status, 1, ck.stdout + ck.stderr);
  assert.ok(ck.stdout.includes(`2 live js timers at ${app}:${calls.every}:`), `check names the application's line: ${ck.stdout}`);
  assert.deepEqual(jsTimers(rep), [{ live: 2, at: [`${app}:${calls.every}`, 'webpack://shipped/./src/index.ts:18'] }],
    'the timers at the application\'s call, the package\'s frame below');
});

test('a map that cannot be used: one warning line, the frames where node ran them', (t) => {
  const dir = copyFixture(t);
  const { trace } = traced(t, path.join(dir, 'dist', 'main.js'), dir);
  const src = path.join(dir, 'src', 'store.ts'), dist = path.join(dir, 'dist', 'store.js');
  const mapFile = `${dist}.map`;
  const mapText = fs.readFileSync(mapFile, 'utf8');
  const script = fs.readFileSync(dist, 'utf8');
  const unmapped = { file: dist, line: lineOf(dist, 'function leakBuffers(') };
  const mapped = { file: src, line: markers(src).FUNCTION.leakBuffers, generated: unmapped };
  const old = new Date(Date.now() - 3600e3);
  const write = (file, text) => {
    fs.writeFileSync(file, text);
    fs.utimesSync(file, old, old);
  };
  const tail = '; its frames keep the script\'s positions';
  const cases = [
    ['truncated', () => write(mapFile, mapText.slice(0, 100)),
      new RegExp(`^source map ${esc(mapFile)}: not JSON \\(line 1: .+\\)$`)],
    ['missing', () => fs.rmSync(mapFile), `source map ${mapFile}: No such file or directory`],
    ['version 2', () => write(mapFile, JSON.stringify({ ...JSON.parse(mapText), version: 2 })),
      `source map ${mapFile}: not version 3`],
    ['bad mappings', () => write(mapFile, JSON.stringify({ ...JSON.parse(mapText), mappings: 'AAAA;!!' })),
      `source map ${mapFile}: mappings: segment 2 (line 2) is not base64 VLQ of 1, 4 or 5 fields`],
    ['a source out of range', () => write(mapFile, JSON.stringify({ ...JSON.parse(mapText), mappings: 'AAAA;ACAA' })),
      `source map ${mapFile}: mappings: segment 2 (line 2) points outside its sources`],
    ['a directory', () => {
      fs.rmSync(mapFile);
      fs.mkdirSync(mapFile);
    }, `source map ${mapFile}: not a regular file`],
    ['bad base64', () => write(dist, script.replace(/\/\/# sourceMappingURL=.*$/m,
      '//# sourceMappingURL=data:application/json;base64,e30*')), 'its base64 is not valid'],
    ['a network URL', () => write(dist, script.replace(/\/\/# sourceMappingURL=.*$/m,
      '//# sourceMappingURL=https://example.com/store.js.map')),
    'source map https://example.com/store.js.map: not a local file, not read'],
  ];
  const head = `leaktrace: warning: ${dist}: `;
  for (const [name, make, why] of cases) {
    fs.rmSync(mapFile, { recursive: true, force: true });
    write(mapFile, mapText);
    write(dist, script);
    make();
    const { rep, warnings } = reportOf(trace);
    assert.equal(warnings.length, 1, `${name}: one line: ${warnings.join('\n')}`);
    assert.ok(warnings[0].startsWith(head) && warnings[0].endsWith(tail), `${name}: ${warnings[0]}`);
    const said = warnings[0].slice(head.length, -tail.length);
    if (why instanceof RegExp) assert.match(said, why, name);
    else assert.equal(said, why, name);
    assertBuffersAt(rep, { ...unmapped, generated: undefined });
  }

  // Changed after the trace began: not applied unless asked for.
  fs.rmSync(mapFile, { recursive: true, force: true });
  fs.writeFileSync(mapFile, mapText);
  fs.writeFileSync(dist, script);
  const changed = reportOf(trace);
  assert.deepEqual(changed.warnings, [`leaktrace: warning: 1 script changed after the trace began (${dist}): its ` +
    'source map may describe other code, not applied (--source-maps always applies it)']);
  // The map alone newer than the trace: the same.
  fs.utimesSync(dist, old, old);
  assert.deepEqual(reportOf(trace).warnings, changed.warnings, 'a map changed since, as its script');
  assertBuffersAt(changed.rep, { ...unmapped, generated: undefined });
  for (const [args, env] of [[['--source-maps', 'always'], {}], [[], { LEAKTRACE_SOURCE_MAPS: 'always' }]]) {
    const always = reportOf(trace, args, env);
    assert.deepEqual(always.warnings, [], `${args} ${JSON.stringify(env)}: no warning`);
    assertBuffersAt(always.rep, mapped);
  }
  const bogus = reportOf(trace, [], { LEAKTRACE_SOURCE_MAPS: 'sometimes' });
  assert.equal(bogus.warnings[0],
    'leaktrace: warning: LEAKTRACE_SOURCE_MAPS=sometimes is none of auto, off, always; auto is used');
  assert.equal(bogus.warnings.length, 2, 'then the changed script\'s line, as under auto');
  const r = run(LEAKTRACE, ['report', '--source-maps', 'sometimes', trace], { env: cleanEnv() });
  assertStatus(r, 2);
  assert.match(r.stderr, /^leaktrace report: --source-maps is auto, off or always, not 'sometimes'/);
  // Every command that shows JS frames takes it.
  const check = run(LEAKTRACE, ['check', '--max-live-timers', '0', '--source-maps', 'always', trace], { env: cleanEnv() });
  assert.equal(check.status, 1, check.stderr);
  assert.ok(check.stdout.includes(`3 live js timers at ${src}:${markers(src).TIMER.poll}:3 (startPolling)`),
    `check names the TypeScript line: ${check.stdout}`);
  assert.equal(check.stderr, '', 'and warns of nothing');
  const ran = run(LEAKTRACE, ['run', '-o', tmpdir(t), '--source-maps', 'off', '--', NODE, path.join(dir, 'dist', 'main.js')],
    { env: cleanEnv(), cwd: dir, timeout: 90000 });
  assertStatus(ran);
  t.after(() => fs.rmSync(`/tmp/perf-${ran.stderr.match(/trace of pid (\d+)/)?.[1]}.map`, { force: true }));
  assert.match(ran.stderr, new RegExp(`leakBuffers \\(${esc(dist)}:${unmapped.line}:\\d+\\) \\[JS\\]`),
    'run --source-maps off: node\'s positions in its report');
});

/** Writes FILE and its map, whose line L is line L of SOURCE, dated before the trace. */
function writeMapped(file, lines, source) {
  fs.writeFileSync(file, `${lines.join('\n')}\n//# sourceMappingURL=${path.basename(file)}.map\n`);
  fs.writeFileSync(`${file}.map`, JSON.stringify({
    version: 3, sources: [source], names: [], mappings: ['AAAA', ...lines.slice(1).map(() => 'AACA')].join(';'),
  }));
  const old = new Date(Date.now() - 3600e3);
  for (const f of [file, `${file}.map`]) fs.utimesSync(f, old, old);
}

test('a package\'s timer function in a script of its own: its line stays the site, no caller gets the others\' timers', (t) => {
  const dir = tmpdir(t);
  fs.mkdirSync(path.join(dir, 'dist'));
  // A vendor chunk built from node_modules/poller, and the application's
  // chunk, which asks it for timers from two lines.
  writeMapped(path.join(dir, 'dist', 'vendor.js'), [
    'exports.poll = function poll(fn, ms) {',
    '  return setInterval(fn, ms);',
    '};',
  ], '../node_modules/poller/index.js');
  writeMapped(path.join(dir, 'dist', 'app.js'), [
    'const { poll } = require(\'./vendor\');',
    'const kept = [];',
    'for (let i = 0; i < 2000; i++) kept.push(Buffer.alloc(4096 + (i % 50)));',
    'for (let i = 0; i < 2; i++) poll(() => kept.length, 60000);',
    'poll(() => 0, 30000);',
    'console.log(`kept ${kept.length}`);',
    'setTimeout(() => process.exit(0), 100);',
  ], '../src/app.ts');
  const { trace } = traced(t, path.join(dir, 'dist', 'app.js'), dir);
  const { rep } = reportOf(trace);
  const pkg = path.join(dir, 'node_modules', 'poller', 'index.js');
  assert.deepEqual(jsTimers(rep), [{ live: 3, at: [`${pkg}:2`, `${path.join(dir, 'src', 'app.ts')}:4`] }],
    'one site, the package\'s line: which call made which timer is not known');
});

test('without a source map, a timer site is its line alone, whoever calls it', (t) => {
  const dir = tmpdir(t);
  const app = path.join(dir, 'plain.js');
  fs.writeFileSync(app, [
    'function every(ms) { return setInterval(() => {}, ms); }',
    ...Array.from({ length: 20 }, (_, i) => `every(${60000 + i});`),
    'console.log(`kept ${2000}`);',
    'setTimeout(() => process.exit(0), 100);',
    '',
  ].join('\n'));
  const { trace } = traced(t, app, dir);
  const state = JSON.parse(fs.readFileSync(trace.replace(/\.lt$/, '.js.json'), 'utf8'));
  const here = state.sites.filter((s) => s.file === app && s.line === 1);
  assert.deepEqual(here.map((s) => [s.live, s.callers]), [[20, 0]], 'one entry of the module, keyed by its line');
});

// A script compiled as it loads (tsx, a require hook): its map is in node's
// memory only, so node's module keeps it beside the trace, and the report
// places the frames by it. Without it they would name the compiled code's
// lines in the script's file.
test('the map of a script transpiled at load, kept beside the trace by node\'s module', (t) => {
  const dir = path.join(ROOT, 'tests', 'fixtures', 'js', 'transpiled');
  const app = path.join(dir, 'app.tl');
  const at = markers(app).FUNCTION.leakBuffers;
  const out = tmpdir(t);
  const r = run(LEAKTRACE, ['run', '-o', out, '--no-report', '--', NODE, path.join(dir, 'main.js')],
    { env: cleanEnv(), cwd: dir, timeout: 90000 });
  assertStatus(r);
  assert.equal(r.stdout, `kept ${BUFFERS}\n`);
  const trace = fs.readdirSync(out).find((f) => f.endsWith('.lt'));
  const pid = trace.split('.')[1];
  t.after(() => fs.rmSync(`/tmp/perf-${pid}.map`, { force: true }));
  const kept = JSON.parse(fs.readFileSync(path.join(out, `leaktrace.${pid}.maps.json`), 'utf8'));
  assert.deepEqual(kept.maps.map((m) => m.script), [app], 'the transpiled script\'s map alone: not hook.js\'s, main.js\'s');
  assert.deepEqual(kept.maps[0].map.sources, [pathToFileURL(app).href], 'as node gives it: a file: URL');

  const frameOf = (rep) => {
    const frames = rep.sites.flatMap((s) => s.frames.filter((f) => f.js && f.function === 'leakBuffers'));
    assert.ok(frames.length > 0, 'leakBuffers is on the Buffers\' stacks');
    return frames[0];
  };
  const f = frameOf(reportOf(path.join(out, trace)).rep);
  assert.deepEqual([f.file, f.line], [app, at], `placed by the kept map: ${JSON.stringify(f)}`);
  assert.deepEqual([f.generated.file, f.generated.line], [app, at + 3], 'where node ran it, three lines down');
  // Without maps, node's position: the compiled code's line.
  const off = frameOf(reportOf(path.join(out, trace), ['--source-maps', 'off']).rep);
  assert.deepEqual([off.file, off.line, off.generated], [app, at + 3, undefined]);
  // A kept file that is not one: said once, frames left where node ran them.
  fs.writeFileSync(path.join(out, `leaktrace.${pid}.maps.json`), '{"maps": 3}\n');
  const bad = reportOf(path.join(out, trace));
  assert.deepEqual(bad.warnings, [`leaktrace: warning: ${out}/leaktrace.${pid}.maps.json: not a file of kept source maps (no "maps" list); its frames keep the script's positions`]);
  assert.equal(frameOf(bad.rep).line, at + 3);
});
