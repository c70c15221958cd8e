// The outputs other tools read, checked by those tools (pinned in
// package.json beside this file, installed by scripts/setup.sh):
//
// - `--format sarif`: Microsoft's SARIF multitool (`validate`, with the
//   SARIF 2.1.0 schema it ships) and the same schema through ajv; the
//   results exactly: three_sites's leak at its line with its bytes, blocks
//   and verdict, its stack as the code flow, its timerfd; every live site
//   when the history is too short to judge; a node process's never-cleared
//   setInterval at its JS line and column.
// - `--format speedscope`: speedscope's own file-format schema through ajv,
//   then speedscope itself (its release page, in Debian's chromium driven
//   headless by playwright-core) imports the file; what it exports back
//   must hold every site's stack with its exact bytes.
// - `--format collapsed`: the same speedscope page reads the folded stacks
//   as the flame graph tools' collapsed format, with every line's total.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  LEAKTRACE, assertStatus, cleanEnv, markers, prog, report, run, runThreeSites, src, traceFiles, tracedEnv,
} from '../e2e/lib.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = fs.realpathSync(path.resolve(HERE, '..', '..'));
const CHROMIUM = '/usr/bin/chromium';
const THREE_C = src('three_sites.c');
const M = markers(THREE_C);
const GROWTH_JS = path.join(ROOT, 'tests', 'fixtures', 'js', 'growth.js');
const GROWTH_N = 12;

const require = createRequire(import.meta.url);
let Ajv07, Ajv2020, addFormats, chromium, MULTITOOL, SARIF_SCHEMA, SPEEDSCOPE;
try {
  Ajv07 = require('ajv').default;
  Ajv2020 = require('ajv/dist/2020').default;
  addFormats = require('ajv-formats').default;
  ({ chromium } = require('playwright-core'));
  const mt = path.dirname(require.resolve('@microsoft/sarif-multitool-linux/package.json'));
  MULTITOOL = path.join(mt, 'Sarif.Multitool');
  SARIF_SCHEMA = JSON.parse(fs.readFileSync(path.join(mt, 'sarif-2.1.0.json'), 'utf8'));
  SPEEDSCOPE = path.join(path.dirname(require.resolve('speedscope/package.json')), 'dist', 'release');
} catch (e) {
  throw new Error(`the pinned npm packages are not installed in ${HERE}: scripts/setup.sh runs npm ci there (${e.message})`);
}
if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: scripts/setup.sh installs Debian's chromium`);

let dir, three, threeRep, node, nodeRep, browser;

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'leaktrace-formats-'));
  const r = await runThreeSites(dir);
  assert.equal(r.code, 0, `three_sites: ${r.stderr}`);
  three = r.file;
  threeRep = report([three], ['--top', '0']);

  const nodeDir = path.join(dir, 'node');
  fs.mkdirSync(nodeDir);
  const n = run(LEAKTRACE, ['run', '-o', nodeDir, '--no-report', '--', process.execPath, GROWTH_JS, 'leak',
    String(GROWTH_N), '1000'], { env: cleanEnv({ LEAKTRACE_TICK_MS: '100' }), cwd: nodeDir, timeout: 90000 });
  assertStatus(n);
  node = path.join(nodeDir, traceFiles(nodeDir)[0]);
  nodeRep = report([node], ['--top', '0']);
  browser = await chromium.launch({ executablePath: CHROMIUM });
});

after(async () => {
  await browser?.close();
  if (dir) {
    for (const f of fs.readdirSync(path.join(dir, 'node')).filter((x) => x.endsWith('.perf.map')))
      fs.rmSync(`/tmp/perf-${f.split('.')[1]}.map`, { force: true });
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

/** `leaktrace report --format FORMAT FILE...` run in the source tree: its output. */
function output(format, files, args = []) {
  const r = run(LEAKTRACE, ['report', '--format', format, ...args, ...files], { cwd: ROOT });
  assertStatus(r);
  assert.equal(r.stderr, '', `nothing on stderr: ${r.what}`);
  return r.stdout;
}

const fnName = (f) => f.function;
const commandOf = (rep) => rep.process.command.join(' ');

// ---------------------------------------------------------------- SARIF

/** Validates a SARIF log with ajv and the multitool; returns it parsed. */
function validSarif(text, name) {
  const log = JSON.parse(text);
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  addFormats(ajv);
  const check = ajv.compile(SARIF_SCHEMA);
  assert.ok(check(log), `${name}: the SARIF 2.1.0 schema: ${ajv.errorsText(check.errors)}`);

  const file = path.join(dir, `${name}.sarif`), verdict = path.join(dir, `${name}.validation.sarif`);
  fs.writeFileSync(file, text);
  // Its schema and every rule but SARIF2006, which would fetch the log's
  // URIs (multitool.xml); .NET without ICU, which it does not need here.
  const v = run(MULTITOOL, ['validate', file, '--json-schema', path.join(path.dirname(MULTITOOL), 'sarif-2.1.0.json'),
    '--config', path.join(HERE, 'multitool.xml'), '-o', verdict],
  { env: cleanEnv({ DOTNET_SYSTEM_GLOBALIZATION_INVARIANT: '1' }), timeout: 120000 });
  assertStatus(v);
  const found = JSON.parse(fs.readFileSync(verdict, 'utf8')).runs[0].results
    .map((x) => `${x.level ?? 'warning'} ${x.ruleId}: ${(x.message.arguments ?? []).join(', ')}`);
  // The one complaint left: no informationUri, since leaktrace has no
  // public home page to name. A log the multitool cannot read gives no
  // result at all, so this also says it was read.
  assert.deepEqual(found, ['warning SARIF2005: runs[0].tool.driver, leaktrace'], `${name}: the multitool's findings`);

  const run0 = log.runs[0];
  for (const r of run0.results) {
    const rule = run0.tool.driver.rules[r.ruleIndex];
    assert.equal(rule.id, r.ruleId, 'ruleIndex names the rule');
    assert.equal(r.level, rule.defaultConfiguration.level);
  }
  return log;
}

/** The frames of a JSON report's site, outermost first, as a code flow shows them. */
function flowOf(result) {
  return result.codeFlows[0].threadFlows[0].locations;
}

test('sarif: three_sites\'s leak at its line, with its bytes, blocks, verdict and stack; its timerfd', () => {
  const log = validSarif(output('sarif', [three]), 'three');
  const run0 = log.runs[0];
  assert.equal(run0.tool.driver.name, 'leaktrace');
  assert.deepEqual(run0.tool.driver.rules.map((r) => [r.id, r.defaultConfiguration.level]),
    [['leak', 'error'], ['unreleased', 'warning'], ['timer-leak', 'warning']]);
  assert.equal(run0.originalUriBaseIds.SRCROOT.uri, `${pathToFileURL(ROOT).href}/`);
  const pid = threeRep.process.pid;
  assert.deepEqual(run0.properties.processes, [{ pid, command: threeRep.process.command, complete: true }]);

  // The leak and the timer; not the cache, the churn, the mapping's plateau.
  assert.deepEqual(run0.results.map((r) => r.ruleId), ['leak', 'timer-leak']);
  const [leak, timer] = run0.results;
  const site = threeRep.sites[0];
  assert.equal(site.verdict, 'leak');
  assert.equal(site.frames[0].line, M.LEAK.leak);
  const uri = { uri: 'tests/programs/three_sites.c', uriBaseId: 'SRCROOT' };
  assert.deepEqual(leak.locations, [{
    physicalLocation: { artifactLocation: uri, region: { startLine: M.LEAK.leak } },
    logicalLocations: [{ name: 'leak_one', kind: 'function' }],
    message: { text: 'leak_one' },
  }]);
  assert.equal(leak.level, 'error');
  assert.equal(leak.message.text, `11.7 KiB (12000 bytes) live in 120 blocks from 120 allocations at leak_one ` +
    `(three_sites.c:${M.LEAK.leak}), judged a leak: ${site.reason}. pid ${pid} (${commandOf(threeRep)}).`);
  assert.deepEqual(leak.properties, {
    pid, kind: 'allocation', live_bytes: 12000, live_blocks: 120, allocations: 120, stacks: 1, verdict: 'leak',
  });
  // The stack as it ran: _start ... main, phase, leak_one, the allocating
  // line the one essential step, the test program's frames placed.
  const flow = flowOf(leak);
  assert.deepEqual(flow.map((l) => l.location.logicalLocations[0].name), site.frames.map(fnName).reverse());
  assert.deepEqual(flow.map((l) => l.nestingLevel), site.frames.map((_, i) => i));
  assert.deepEqual(flow.filter((l) => l.importance === 'essential').map((l) => l.location.message.text), ['leak_one']);
  const placed = flow.filter((l) => l.location.physicalLocation)
    .map((l) => [l.location.message.text, l.location.physicalLocation.region.startLine]);
  assert.deepEqual(placed, site.frames.filter((f) => f.file === THREE_C).reverse().map((f) => [f.function, f.line]));
  for (const l of flow.filter((x) => x.location.physicalLocation))
    assert.deepEqual(l.location.physicalLocation.artifactLocation, uri);

  assert.equal(timer.level, 'warning');
  assert.deepEqual(timer.locations[0].physicalLocation, { artifactLocation: uri, region: { startLine: M.TIMER.timer } });
  assert.equal(timer.message.text, `1 timerfd timer live of 1 made at main (three_sites.c:${M.TIMER.timer}), ` +
    `repeating every 1000 ms, the oldest ${threeRep.timers[0].oldest_age_s.toFixed(1)} s old. ` +
    `pid ${pid} (${commandOf(threeRep)}).`);
  assert.deepEqual(timer.properties, {
    pid, kind: 'timerfd', live: 1, created: 1, repeating: true, interval_ns: 1000000000,
  });

  // --top 1: the first site alone (the leak) and the first timer site.
  const top = validSarif(output('sarif', [three], ['--top', '1']), 'three-top');
  assert.deepEqual(top.runs[0].results.map((r) => r.ruleId), ['leak', 'timer-leak']);
});

test('sarif: too short a history to judge: every live site of the program\'s code, as unreleased memory', () => {
  // three_sites recording from the start, ticking once a minute: too few
  // points for any verdict.
  const d = fs.mkdtempSync(path.join(dir, 'short-'));
  const r = run(prog('three_sites'), [], { env: tracedEnv(d, { LEAKTRACE_TICK_MS: '60000' }), cwd: d, input: '\n\n\n' });
  assertStatus(r);
  const file = path.join(d, traceFiles(d)[0]);
  const rep = report([file]);
  assert.ok(rep.timeline.length < 5, `a short history: ${rep.timeline.length} points`);
  const log = validSarif(output('sarif', [file]), 'short');
  const results = log.runs[0].results;
  const sites = results.filter((x) => x.ruleId === 'unreleased');
  // The program's: a frame in three_sites.c; what only libc's or the
  // loader's code holds (their start-up's tables) is not for review.
  const programs = rep.sites.filter((s) => s.live_bytes > 0 && s.frames.some((f) => f.file?.endsWith('/three_sites.c')));
  assert.equal(sites.length, programs.length, 'one result per live site of the program\'s');
  assert.deepEqual(sites.map((x) => x.properties.live_bytes), programs.map((s) => s.live_bytes));
  const leak = sites.find((x) => x.locations?.[0].physicalLocation.region.startLine === M.LEAK.leak);
  assert.ok(leak, `the leaking line among them: ${JSON.stringify(sites.map((x) => x.message.text))}`);
  assert.deepEqual(leak.properties, {
    pid: rep.process.pid, kind: 'allocation', live_bytes: 12000, live_blocks: 120, allocations: 120, stacks: 1, verdict: null,
  });
  assert.match(leak.message.text, /^11\.7 KiB \(12000 bytes\) live in 120 blocks from 120 allocations at leak_one \(three_sites\.c:\d+\), still allocated when the process ended \(too short a history to judge its growth\)\. pid \d+ \(.*\)\.$/);
  const mapping = sites.find((x) => x.properties.kind === 'mapping');
  assert.equal(mapping.properties.live_bytes, 256 << 10);
  assert.match(mapping.message.text, /^256\.0 KiB \(262144 bytes\) mapped in 1 region from 1 mmap\/mprotect call at main \(three_sites\.c:\d+\), still mapped when/);
  assert.deepEqual(results.filter((x) => x.ruleId === 'timer-leak').map((x) => x.properties.kind), ['timerfd']);
});

test('sarif: too short a history, node: only the sites of the script\'s own code, not node\'s start-up', () => {
  const d = fs.mkdtempSync(path.join(dir, 'node-short-'));
  const n = run(LEAKTRACE, ['run', '-o', d, '--no-report', '--', process.execPath, GROWTH_JS, 'leak', '3', '10'],
    { env: cleanEnv({ LEAKTRACE_TICK_MS: '60000' }), cwd: d, timeout: 90000 });
  assertStatus(n);
  const file = path.join(d, traceFiles(d)[0]);
  const rep = report([file], ['--top', '0']);
  const results = validSarif(output('sarif', [file]), 'node-short').runs[0].results.filter((x) => x.ruleId === 'unreleased');
  const live = rep.sites.filter((s) => s.live_bytes > 0);
  // Node holds thousands of blocks from its start-up; the script, a few sites.
  assert.ok(results.length > 0 && results.length * 10 < live.length, `${results.length} results of ${live.length} live sites`);
  for (const x of results)
    assert.equal(x.locations?.[0].physicalLocation.artifactLocation.uri.endsWith('growth.js'), true, JSON.stringify(x.locations));
});

test('sarif: a node process\'s never-cleared setInterval, at its JS line and column', () => {
  const log = validSarif(output('sarif', [node]), 'node');
  const timers = log.runs[0].results.filter((r) => r.ruleId === 'timer-leak');
  const js = nodeRep.timers.filter((x) => x.kind === 'js' && (x.repeating || x.live > 1));
  assert.equal(js.length, 1, `one JS timer site left running: ${JSON.stringify(nodeRep.timers)}`);
  assert.equal(timers.length, 1);
  const [r] = timers, at = js[0].frames[0];
  assert.equal(at.line, markers(GROWTH_JS).LEAK.interval);
  assert.deepEqual(r.locations[0].physicalLocation, {
    artifactLocation: { uri: 'tests/fixtures/js/growth.js', uriBaseId: 'SRCROOT' },
    region: { startLine: at.line, startColumn: at.column },
  });
  assert.deepEqual(r.properties, {
    pid: nodeRep.process.pid, kind: 'js', live: GROWTH_N, created: GROWTH_N, repeating: true,
    interval_ns: 1e12,
  });
  assert.ok(r.message.text.startsWith(`${GROWTH_N} js timers live of ${GROWTH_N} made at handleRequest ` +
    `(growth.js:${at.line}), repeating every 1000000 ms`), r.message.text);
  assert.equal(flowOf(r).at(-1).importance, 'essential', 'the creating line is the innermost step');
});

// ----------------------------------------------------------- speedscope

/**
 * Opens FILE in speedscope's own page, as its command line does (a script
 * that hands the file to speedscope.loadFileFromBase64), and returns which
 * importer it used and the profiles it exports back (speedscope's format).
 */
async function speedscope(file) {
  const loader = `${file}.load.js`;
  fs.writeFileSync(loader, `speedscope.loadFileFromBase64(${JSON.stringify(path.basename(file))}, ` +
    `${JSON.stringify(fs.readFileSync(file).toString('base64'))})`);
  const page = await browser.newPage({ acceptDownloads: true });
  const importers = [], problems = [];
  page.on('console', (m) => {
    if (/^Importing as /.test(m.text())) importers.push(m.text());
    if (m.type() === 'error') problems.push(m.text());
  });
  page.on('pageerror', (e) => problems.push(e.message));
  page.on('dialog', (d) => { problems.push(`dialog: ${d.message()}`); d.dismiss(); });
  try {
    await page.goto(`${pathToFileURL(path.join(SPEEDSCOPE, 'index.html')).href}#localProfilePath=${loader}`);
    const exportTab = page.getByText('Export');
    await exportTab.waitFor({ timeout: 60000 });
    const [download] = await Promise.all([page.waitForEvent('download'), exportTab.click()]);
    const exported = JSON.parse(fs.readFileSync(await download.path(), 'utf8'));
    assert.deepEqual(problems, [], 'no error in speedscope');
    return { importers, exported };
  } finally {
    await page.close();
  }
}

/**
 * The weight of every stack (frame names joined by ';') in an exported
 * profile: speedscope exports evented profiles, whose time between two
 * events belongs to the stack open then.
 */
function stackWeights(file, profile) {
  const frames = file.shared.frames;
  const w = new Map(), open = [];
  let last = profile.startValue;
  for (const e of profile.events) {
    if (open.length && e.at > last) {
      const key = open.map((i) => frames[i].name).join(';');
      w.set(key, (w.get(key) ?? 0) + e.at - last);
    }
    last = e.at;
    if (e.type === 'O') open.push(e.frame);
    else assert.equal(open.pop(), e.frame, 'events close what they opened');
  }
  assert.equal(open.length, 0);
  return Object.fromEntries([...w].sort());
}

/** A JSON report's sites as stacks of function names, outermost first, and their weights. */
function expectedWeights(rep, field) {
  const w = {};
  for (const s of rep.sites.filter((x) => x.live_bytes > 0)) {
    const names = s.frames.map((f) => f.function ?? `${path.basename(f.module ?? '')}+?`).reverse();
    if (s.kind === 'mapping') names.push('[anonymous mapping]');
    const key = names.join(';');
    w[key] = (w[key] ?? 0) + s[field];
  }
  return Object.fromEntries(Object.entries(w).sort());
}

function validSpeedscope(text, name) {
  const file = JSON.parse(text);
  const schema = JSON.parse(fs.readFileSync(path.join(SPEEDSCOPE, 'file-format-schema.json'), 'utf8'));
  const ajv = new Ajv07({ allErrors: true, strict: false });
  const check = ajv.compile(schema);
  assert.ok(check(file), `${name}: speedscope's file-format schema: ${ajv.errorsText(check.errors)}`);
  return file;
}

test('speedscope: three_sites, by speedscope\'s schema and its own importer, every site\'s bytes and blocks', async () => {
  const text = output('speedscope', [three]);
  const file = validSpeedscope(text, 'three');
  const pid = threeRep.process.pid, cmd = commandOf(threeRep);
  assert.deepEqual(file.profiles.map((p) => [p.type, p.name, p.unit, p.startValue, p.endValue]), [
    ['sampled', `pid ${pid} ${cmd}: live bytes`, 'bytes', 0, 12000 + 2000 + 192 + (256 << 10)],
    ['sampled', `pid ${pid} ${cmd}: live blocks`, 'none', 0, 120 + 10 + 3 + 1],
  ]);
  const [bytes, blocks] = file.profiles;
  const stacks = (p) => Object.fromEntries(p.samples.map((s, i) =>
    [s.map((k) => file.shared.frames[k].name).join(';'), p.weights[i]]).sort());
  assert.deepEqual(stacks(bytes), expectedWeights(threeRep, 'live_bytes'));
  assert.deepEqual(stacks(blocks), expectedWeights(threeRep, 'live_blocks'));
  // The leak's frame: its function, file and line.
  const leafOfLeak = file.shared.frames[bytes.samples[bytes.weights.indexOf(12000)].at(-1)];
  assert.deepEqual(leafOfLeak, { name: 'leak_one', file: THREE_C, line: M.LEAK.leak });

  const p = path.join(dir, 'three.speedscope.json');
  fs.writeFileSync(p, text);
  const { importers, exported } = await speedscope(p);
  assert.deepEqual(importers, ['Importing as speedscope json file']);
  assert.deepEqual(exported.profiles.map((x) => [x.name, x.unit, x.endValue - x.startValue]),
    file.profiles.map((x) => [x.name, x.unit, x.endValue]));
  assert.deepEqual(stackWeights(exported, exported.profiles[0]), expectedWeights(threeRep, 'live_bytes'));
  assert.deepEqual(stackWeights(exported, exported.profiles[1]), expectedWeights(threeRep, 'live_blocks'));
});

test('speedscope: a node process\'s JS frames, with their columns', async () => {
  const text = output('speedscope', [node]);
  const file = validSpeedscope(text, 'node');
  const total = nodeRep.sites.reduce((a, s) => a + Math.max(s.live_bytes, 0), 0);
  assert.equal(file.profiles[0].endValue, total);
  assert.equal(file.profiles[0].weights.reduce((a, b) => a + b, 0), total);
  const jsFrames = nodeRep.sites.flatMap((s) => s.frames).filter((f) => f.js && f.file && f.line);
  assert.ok(jsFrames.length > 0, 'the node process has JS frames');
  for (const f of jsFrames) {
    const want = { name: f.function, file: f.file, line: f.line, ...(f.column ? { col: f.column } : {}) };
    assert.ok(file.shared.frames.some((x) => JSON.stringify(x) === JSON.stringify(want)), `frame ${JSON.stringify(want)}`);
  }
  const p = path.join(dir, 'node.speedscope.json');
  fs.writeFileSync(p, text);
  const { importers, exported } = await speedscope(p);
  assert.deepEqual(importers, ['Importing as speedscope json file']);
  assert.equal(exported.profiles[0].endValue - exported.profiles[0].startValue, total);
});

// ------------------------------------------------------------ collapsed

test('collapsed: speedscope reads the folded stacks, every line\'s bytes under its frames', async () => {
  const text = output('collapsed', [three]);
  const lines = text.trimEnd().split('\n');
  assert.equal(lines.length, threeRep.sites.filter((s) => s.live_bytes > 0).length);
  const want = Object.fromEntries(lines.map((l) => {
    const m = /^(.*) (\d+)$/.exec(l);
    return [m[1], Number(m[2])];
  }).sort());
  assert.equal(want[`_start;__libc_start_main;__libc_start_call_main;main;phase;leak_one (three_sites.c:${M.LEAK.leak})`], 12000);
  const p = path.join(dir, 'three.folded.txt');
  fs.writeFileSync(p, text);
  const { importers, exported } = await speedscope(p);
  assert.deepEqual(importers, ['Importing as collapsed stack format']);
  assert.equal(exported.profiles.length, 1);
  assert.deepEqual(stackWeights(exported, exported.profiles[0]), want);
  assert.equal(exported.profiles[0].endValue - exported.profiles[0].startValue, 12000 + 2000 + 192 + (256 << 10));
});

// ------------------------------------------------------ several processes

test('two processes: one SARIF run with the results of both, speedscope profiles of each', () => {
  const one = (f) => JSON.parse(output('sarif', [f])).runs[0];
  const both = validSarif(output('sarif', [three, node]), 'both').runs[0];
  assert.deepEqual(both.properties.processes.map((p) => p.pid), [threeRep.process.pid, nodeRep.process.pid]);
  assert.deepEqual(both.results, [...one(three).results, ...one(node).results]);

  // Each profile the same stacks and weights as in its process's own file,
  // through one shared frames table.
  const stacks = (file, p) => p.samples.map((s, i) =>
    [JSON.stringify(s.map((k) => file.shared.frames[k])), p.weights[i]]).sort();
  const all = validSpeedscope(output('speedscope', [three, node]), 'both');
  const alone = [three, node].map((f) => JSON.parse(output('speedscope', [f])));
  assert.deepEqual(all.profiles.map((p) => p.name), alone.flatMap((f) => f.profiles.map((p) => p.name)));
  alone.flatMap((f) => f.profiles.map((p) => [f, p])).forEach(([f, p], i) => {
    assert.deepEqual(stacks(all, all.profiles[i]), stacks(f, p), p.name);
    assert.equal(all.profiles[i].endValue, p.endValue);
  });
});
