// The HTML report in a real browser: Debian's chromium, driven headless by
// playwright-core (pinned in package.json beside this file; it never
// downloads a browser). three_sites (a leak, a cache, a churn, a mapping,
// a timerfd, two snapshots) is traced with a command line that tries to
// close the page's script, and its report opened as a file:// URL: the top
// row must be the leak with its exact bytes, its stack must show the right
// file and line and the source line itself, filtering, sorting, zooming
// the flame graph and selecting a window on the timeline must give exactly
// what the JSON report says; with no console error, no dialog, and no
// request but file: and data:. A node process beside it makes a report of
// two processes (tabs) with JS timers. Screenshots at 1280x800 and 390x844
// go to the build directory (browser-shots/).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  BUILD, LEAKTRACE, assertStatus, cleanEnv, markers, prog, report, run, runThreeSites, src, traceFiles,
} from '../e2e/lib.mjs';

const CHROMIUM = '/usr/bin/chromium';
const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..', '..');
const REQUESTS_JS = path.join(ROOT, 'tests', 'fixtures', 'js', 'requests.js');
const STORE_JS = path.join(ROOT, 'tests', 'fixtures', 'js', 'store.js');
const STORE_ROUNDS = 12;
const INTERVALS_JS = path.join(ROOT, 'tests', 'fixtures', 'js', 'intervals.js');
const THREE_C = src('three_sites.c');
const M = markers(THREE_C);
const EVIL = '</script><script>alert(1)</script>';
const SHOTS = path.join(BUILD, 'browser-shots');

let chromium;
try {
  ({ chromium } = await import('playwright-core'));
} catch (e) {
  throw new Error(`playwright-core is not installed in ${HERE}: scripts/setup.sh runs npm ci there (${e.message})`);
}
if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: scripts/setup.sh installs Debian's chromium`);

let browser, dir, three, threeHtml, node, nodeRep, store, storeRep, bothHtml, intervalsHtml, intervalsRep;

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'leaktrace-browser-'));
  const r = await runThreeSites(dir, [EVIL]);
  assert.equal(r.code, 0, `three_sites: ${r.stderr}`);
  three = { file: r.file, rep: report([r.file]) };
  threeHtml = path.join(dir, 'three.html');
  const w = run(LEAKTRACE, ['report', '--format', 'html', '-o', threeHtml, r.file]);
  assertStatus(w);
  assert.equal(w.stdout, '', '-o: nothing on stdout');

  const nodeDir = path.join(dir, 'node');
  fs.mkdirSync(nodeDir);
  const n = run(LEAKTRACE, ['run', '-o', nodeDir, '--no-report', '--', process.execPath, REQUESTS_JS, '25'],
    { env: cleanEnv(), cwd: nodeDir });
  assertStatus(n);
  node = path.join(nodeDir, traceFiles(nodeDir)[0]);
  nodeRep = report([node]);
  const storeDir = path.join(dir, 'store');
  fs.mkdirSync(storeDir);
  assertStatus(run(LEAKTRACE, ['run', '-o', storeDir, '--no-report', '--', process.execPath, STORE_JS, String(STORE_ROUNDS)],
    { env: cleanEnv({ LEAKTRACE_TICK_MS: '100' }), cwd: storeDir, timeout: 90000 }));
  store = path.join(storeDir, traceFiles(storeDir)[0]);
  // As many sites as the HTML report shows (LT_HTML_DEFAULT_TOP), so that a
  // site's index is its row's in the page.
  storeRep = report([store], ['--top', '500']);
  const intervalsDir = path.join(dir, 'intervals');
  fs.mkdirSync(intervalsDir);
  assertStatus(run(LEAKTRACE, ['run', '-o', intervalsDir, '--no-report', '--', process.execPath, INTERVALS_JS, 'leak'],
    { env: cleanEnv({ LEAKTRACE_TICK_MS: '100' }), cwd: intervalsDir, timeout: 90000 }));
  const intervals = path.join(intervalsDir, traceFiles(intervalsDir)[0]);
  intervalsRep = report([intervals]);
  intervalsHtml = path.join(dir, 'intervals.html');
  assertStatus(run(LEAKTRACE, ['report', '--format', 'html', '-o', intervalsHtml, intervals]));
  bothHtml = path.join(dir, 'both.html');
  assertStatus(run(LEAKTRACE, ['report', '--format', 'html', '-o', bothHtml, r.file, node, store]));

  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  fs.mkdirSync(SHOTS, { recursive: true });
});

after(async () => {
  await browser?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

/**
 * A page on FILE at a viewport size, watched: console errors, page errors,
 * dialogs and every request but file: and data: are collected, and the
 * test fails on any of them when it ends.
 */
async function open(t, file, width = 1280, height = 800) {
  const page = await browser.newPage({ viewport: { width, height } });
  const bad = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') bad.push(`console ${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => bad.push(`page error: ${e.message}`));
  page.on('dialog', (d) => {
    bad.push(`dialog: ${d.message()}`);
    d.dismiss();
  });
  page.on('request', (q) => {
    if (!/^(file|data):/.test(q.url())) bad.push(`network request: ${q.url()}`);
  });
  t.after(async () => {
    await page.close();
    assert.deepEqual(bad, [], 'no console error, no dialog, no request but file: and data:');
  });
  await page.goto(pathToFileURL(file).href);
  await page.waitForSelector('#site-table tbody tr');
  return page;
}

/** Polls FN (async) until it returns a value deepEqual to WANT, or fails
 * after 20 s: a page that redraws its chart and table at each key took
 * longer than 5 s to show the last one on a loaded CI machine. */
async function until(fn, want, what) {
  let got;
  for (const end = Date.now() + 20000; Date.now() < end;) {
    got = await fn();
    try {
      assert.deepEqual(got, want);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  assert.deepEqual(got, want, what);
}

const ranks = (page) => page.locator('#site-table tbody tr.row').evaluateAll((rows) => rows.map((r) => +r.dataset.rank));
const sourceLine = (file, line) => fs.readFileSync(file, 'utf8').split('\n')[line - 1];
const real = (p) => fs.realpathSync(p);

/** The JSON embedded in the page, as the page reads it. */
function embedded(html, id) {
  const m = new RegExp(`<script type="application/json" id="${id}">([^<]*)</script>`).exec(fs.readFileSync(html, 'utf8'));
  assert.ok(m, `${id} in ${html}`);
  return JSON.parse(m[1]);
}

test('the page holds the JSON report exactly, and the command line cannot close its script', () => {
  const text = fs.readFileSync(threeHtml, 'utf8');
  assert.deepEqual(embedded(threeHtml, 'lt-report'), three.rep, 'the JSON report, as --format json writes it');
  assert.equal((text.match(/<script/gi) || []).length, 3, 'three script elements: the report, the page data, the code');
  assert.equal((text.match(/<\/script/gi) || []).length, 3, 'each closed once');
  assert.ok(!text.includes(EVIL), 'the command line is not in the page as markup');
  assert.deepEqual(three.rep.process.command, [prog('three_sites'), EVIL]);
  const extra = embedded(threeHtml, 'lt-extra');
  assert.equal(extra.sources[three.rep.sites[0].frames[0].file][String(M.LEAK.leak)], sourceLine(THREE_C, M.LEAK.leak),
    'the source line of the leak, as the file has it');
  assert.deepEqual(extra.processes, [{ pid: three.rep.process.pid, sites: 4, timers: 1, js_timeline: [] }]);
  assert.ok(fs.statSync(threeHtml).size < 512 << 10, `a small report stays small: ${fs.statSync(threeHtml).size} bytes`);
});

test('the top row is the leak, with its exact bytes; its stack shows the file, the line and the source', async (t) => {
  const rep = three.rep;
  const leak = rep.sites[0];
  assert.deepEqual([leak.verdict, leak.live_bytes, leak.live_blocks], ['leak', 12000, 120], 'the JSON report agrees');
  const page = await open(t, threeHtml);
  assert.equal(await page.locator('#command').textContent(), `${prog('three_sites')} '${EVIL}'`, 'the command, as text');
  assert.equal(await page.title(), `leaktrace: ${prog('three_sites')} '${EVIL}' (pid ${rep.process.pid})`);

  const top = page.locator('#site-table tbody tr.row').first();
  assert.equal(await top.getAttribute('data-rank'), '1');
  assert.equal(await top.locator('.badge').first().textContent(), 'leak');
  assert.equal(await top.locator('td.live').textContent(), '11.7 KiB');
  assert.equal(await top.locator('td.live').getAttribute('title'), '12,000 bytes');
  assert.equal(await top.locator('td.where .fn').textContent(), 'leak_one');
  assert.equal(await top.locator('td.where .loc').textContent(), `three_sites.c:${M.LEAK.leak}`);
  assert.deepEqual(await ranks(page), [1, 2, 3, 4], 'every site, in the report\'s order');
  assert.equal(await page.locator('#leak-card .leaks li').count(), 1, 'one leak in the summary');
  // It is the line check fails on, its stacks summed; the site it holds is
  // not listed again.
  const pleaks = rep.places.filter((x) => x.verdict === 'leak' && x.checked);
  assert.deepEqual(pleaks.map((x) => x.where), [`three_sites.c:${M.LEAK.leak} (leak_one)`]);
  const item = page.locator('#leak-card .place-leaks li');
  assert.equal(await item.count(), 1);
  assert.ok((await item.textContent()).startsWith(`leak three_sites.c:${M.LEAK.leak} (leak_one) +`), await item.textContent());
  assert.equal(await page.locator('#leak-card .leaks:not(.place-leaks) li').count(), 0, 'its site not listed again');
  await page.screenshot({ path: path.join(SHOTS, 'report-1280x800.png') });

  await top.click();
  const detail = page.locator('#detail-0-0');
  await detail.waitFor();
  assert.equal(await top.getAttribute('aria-expanded'), 'true');
  const f0 = detail.locator('ol.stack > li[data-frame="0"]');
  assert.equal(await f0.locator('.fn').textContent(), 'leak_one');
  const loc = await f0.locator('.loc').textContent();
  const [file, line] = [loc.slice(0, loc.lastIndexOf(':')), +loc.slice(loc.lastIndexOf(':') + 1)];
  assert.equal(real(file), real(THREE_C), 'the file of the allocating frame');
  assert.equal(line, M.LEAK.leak, 'its line');
  const hl = f0.locator('pre.src span.hl');
  assert.equal(await hl.getAttribute('data-line'), String(M.LEAK.leak));
  assert.equal(await hl.textContent(), sourceLine(THREE_C, M.LEAK.leak), 'the source line itself');
  assert.equal(await f0.locator('pre.src span').count(), 7, 'three lines either side');
  assert.equal(await detail.locator('ol.stack > li[data-frame="1"] .fn').textContent(), 'phase');
  assert.match(await detail.textContent(), /12,000 bytes in 120 blocks/);
  assert.equal(await detail.locator('.site-history svg path.series').count(), 1, 'its own history chart');
  // Figures as people read them: no rate of 676.4399999999999 bytes/min.
  assert.doesNotMatch(await page.locator('body').innerText(), /\d\.\d{4,}/, 'no unrounded figure on the page');
  await page.screenshot({ path: path.join(SHOTS, 'site-1280x800.png') });

  // The keyboard: Enter on the focused row closes it and opens it again.
  await top.focus();
  await page.keyboard.press('Enter');
  await until(() => top.getAttribute('aria-expanded'), 'false', 'Enter closes the row');
  assert.equal(await page.locator('#detail-0-0').count(), 0);
  await page.keyboard.press('Enter');
  await until(() => top.getAttribute('aria-expanded'), 'true', 'Enter opens it');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'site-0-0', 'the focus stays on the row');
});

test('filtering and sorting the sites', async (t) => {
  const rep = three.rep;
  const page = await open(t, threeHtml);
  const where = () => page.locator('#site-table tbody tr.row td.where .fn').allTextContents();
  await page.fill('#site-filter', 'cache_fill');
  await until(where, ['cache_fill'], 'filter by function');
  await page.fill('#site-filter', 'three_sites.c:58');
  await until(where, ['churn_to'], 'filter by file and line');
  await page.fill('#site-filter', 'libc.so');
  await until(() => ranks(page), [1, 2, 3, 4], 'filter by module: every stack goes through libc');
  await page.fill('#site-filter', 'no_such_function');
  await until(() => ranks(page), [], 'nothing matches');
  assert.equal(await page.locator('#site-count').textContent(), '0 of 4 sites');
  await page.fill('#site-filter', '');
  await until(() => ranks(page), [1, 2, 3, 4], 'the filter cleared');
  await page.selectOption('#verdict-filter', 'cache');
  const caches = rep.sites.map((x, i) => [x, i + 1]).filter(([x]) => x.verdict === 'cache').map(([, r]) => r);
  await until(() => ranks(page), caches, 'the caches alone');
  await page.selectOption('#verdict-filter', '');

  const order = (key, dir) => rep.sites.map((x, i) => [key(x), i + 1]).sort((a, b) => (a[0] - b[0]) * dir || a[1] - b[1]).map(([, r]) => r);
  await page.click('#site-table th button[data-sort="live"]');
  await until(() => ranks(page), order((x) => x.live_bytes, -1), 'by live bytes, biggest first');
  assert.equal(await page.locator('#site-table th[aria-sort]').getAttribute('aria-sort'), 'descending');
  await page.click('#site-table th button[data-sort="live"]');
  await until(() => ranks(page), order((x) => x.live_bytes, 1), 'and smallest first');
  await page.click('#site-table th button[data-sort="blocks"]');
  await until(() => ranks(page), order((x) => x.live_blocks, -1), 'by blocks');
  await page.click('#site-table th button[data-sort="growth"]');
  await until(() => ranks(page), order((x) => x.growth_bytes, -1), 'by growth');
  await page.click('#site-table th button[data-sort="verdict"]');
  const v = { leak: 0, unclear: 1, cache: 2, transient: 3 };
  await until(() => ranks(page), order((x) => v[x.verdict], 1), 'by verdict, leaks first');
  await page.click('#site-table th button[data-sort="rank"]');
  await until(() => ranks(page), [1, 2, 3, 4], 'back in the report\'s order');
});

test('the flame graph zooms on a click and highlights what the search finds', async (t) => {
  const page = await open(t, threeHtml);
  const leafName = `leak_one (three_sites.c:${M.LEAK.leak})`;
  const node = (name) => page.locator(`#flame g.node:not(.dim)[data-name="${name}"]`);
  assert.equal(await node(`cache_fill (three_sites.c:${M.CACHE.cache})`).count(), 1, 'every site is in it');
  const total = three.rep.sites.reduce((a, x) => a + x.live_bytes, 0);
  assert.equal(await page.locator('#flame-crumbs').textContent(), `All: ${(total / 1024).toFixed(1)} KiB live`);

  await node(leafName).click();
  await until(() => page.locator('#flame-crumbs').textContent(),
    `Zoomed on _start \u203a __libc_start_main \u203a __libc_start_call_main \u203a main \u203a phase \u203a ${leafName}: 11.7 KiB live`,
    'zoomed on the leak');
  const svgWidth = await page.locator('#flame svg').evaluate((el) => el.viewBox.baseVal.width);
  const w = +(await node(leafName).locator('rect').getAttribute('width'));
  assert.ok(Math.abs(w - svgWidth) <= 1, `the zoomed frame takes the whole width: ${w} of ${svgWidth}`);
  assert.equal(await node(`cache_fill (three_sites.c:${M.CACHE.cache})`).count(), 0, 'what is beside it is gone');
  assert.equal(await page.locator('#flame g.node.dim').count(), 6, 'all and its callers above it, dimmed');
  await page.click('#flame-reset');
  await until(() => node(`cache_fill (three_sites.c:${M.CACHE.cache})`).count(), 1, 'the reset brings all back');

  // By the keyboard: Enter on a frame zooms too.
  await node('phase').focus();
  await page.keyboard.press('Enter');
  await until(() => page.locator('#flame-crumbs').textContent(),
    'Zoomed on _start \u203a __libc_start_main \u203a __libc_start_call_main \u203a main \u203a phase: 13.9 KiB live',
    'zoomed by Enter on the callers of the three sites');
  await page.click('#flame-reset');

  await page.fill('#flame-search', 'churn_to');
  await until(() => page.locator('#flame g.node.hit').evaluateAll((els) => els.map((e) => e.dataset.name)),
    [`churn_to (three_sites.c:${M.CHURN.churn})`], 'the search highlights the frame');
  assert.match(await page.locator('#flame-crumbs').textContent(), /"churn_to" matches 192 bytes \(0\.1%\)$/);
});

test('a window selected on the timeline filters the sites to what grew inside it', async (t) => {
  const rep = three.rep;
  const page = await open(t, threeHtml);
  assert.deepEqual(await page.locator('#timeline svg text.label:not(.title)').allTextContents(), ['first', 'second'],
    'the snapshots are marked');
  const chart = page.locator('#timeline svg');

  // Hovering shows the values of a point.
  await chart.scrollIntoViewIfNeeded();
  let box = await chart.boundingBox();
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  const tip = page.locator('#timeline .tip');
  await tip.waitFor({ state: 'visible' });
  assert.match(await tip.textContent(), /RSS: .*live malloc: .*live OS timers: \d+/);

  // From the point nearest snapshot "first" to the one nearest "second",
  // by the keyboard: the sites whose history grew between the two points,
  // biggest growth first, the leak among them.
  const tl = rep.timeline;
  const near = (name) => {
    const at = rep.snapshots.find((x) => x.name === name).t;
    return tl.reduce((best, p, i) => (Math.abs(p.t - at) < Math.abs(tl[best].t - at) ? i : best), 0);
  };
  // Two points of one moment (a snapshot taken within the millisecond of
  // a tick) are one step of the cursor, which moves over moments, and the
  // page shows the later of them: the keys count moments, the figures are
  // the later point's (seen in CI as a window one point early).
  const last = (i) => tl.findLastIndex((p) => p.t === tl[i].t);
  const [i0, i1] = [last(near('first')), last(near('second'))];
  assert.ok(i0 > 0 && i1 > i0 + 2, `points between the snapshots: ${i0}, ${i1}`);
  const moments = [...new Set(tl.map((p) => p.t))].sort((a, b) => a - b);
  const [k0, k1] = [moments.indexOf(tl[i0].t), moments.indexOf(tl[i1].t)];
  const grew = rep.sites.map((x, i) => [x.history[i1].bytes - x.history[i0].bytes, i + 1]).filter(([g]) => g > 0)
    .sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  const leakGrowth = rep.sites[0].history[i1].bytes - rep.sites[0].history[i0].bytes;
  assert.ok(leakGrowth >= 100 * 20, `the leak grew between the snapshots: ${leakGrowth} bytes`);
  await chart.focus();
  await page.keyboard.press('Home');
  for (let i = 0; i < k0; i++) {
    await page.keyboard.press('ArrowRight');
    // The mouse still rests where it hovered: the browser sends a move
    // without movement when the layout changes (seen in CI, under load, as
    // a window that started at the mouse). The keyboard's cursor stays.
    if (i === 0) await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  }
  for (let i = k0; i < k1; i++) await page.keyboard.press('Shift+ArrowRight');
  await until(() => ranks(page), grew.map(([, r]) => r), 'the sites that grew in the window, biggest growth first');
  // Waited for too: a window one point short has the same ranks (seen in
  // CI: the cells were read before the last key had been handled).
  await until(() => page.locator('#site-table tbody tr.row td.growth span').evaluateAll((els) => els.map((e) => e.title)),
    grew.map(([g]) => `${g.toLocaleString('en-US')} bytes`), 'each one\'s growth in the window');
  assert.equal(await page.locator('#site-table th button[data-sort="growth"]').textContent(), 'growth in window');
  assert.match(await page.locator('#window-note').textContent(),
    new RegExp(`^Window .* to .*: ${grew.length} sites? grew inside it\\. `));
  await page.click('#clear-window');
  await until(() => ranks(page), [1, 2, 3, 4], 'the window cleared');

  // By the mouse: a drag across most of the chart, then Escape.
  await chart.scrollIntoViewIfNeeded();
  box = await chart.boundingBox();
  await page.mouse.move(box.x + box.width * 0.1, box.y + box.height / 2);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * 0.5, box.y + box.height / 2, { steps: 5 });
  await page.mouse.move(box.x + box.width * 0.95, box.y + box.height / 2, { steps: 5 });
  await page.mouse.up();
  const note = await page.locator('#window-note').textContent();
  const m = /Window (.*) to (.*): (\d+) sites? grew inside it/.exec(note);
  assert.ok(m, `a window is selected: ${note}`);
  assert.equal((await ranks(page)).length, +m[3], 'the table holds the sites that grew');
  assert.ok((await ranks(page)).includes(1), 'among them the leak');
  await chart.focus();
  await page.keyboard.press('Escape');
  await until(() => ranks(page), [1, 2, 3, 4], 'Escape clears the window');
});

test('on a phone-sized screen the page fits its width, and it prints without its controls', async (t) => {
  const page = await open(t, threeHtml, 390, 844);
  await page.locator('#site-table tbody tr.row').first().click();
  await page.locator('#detail-0-0').waitFor();
  assert.ok(await page.evaluate(() => document.documentElement.scrollWidth) <= 390, 'no sideways scrolling');
  await page.screenshot({ path: path.join(SHOTS, 'report-390x844.png') });
  await page.locator('#sites').screenshot({ path: path.join(SHOTS, 'sites-390x844.png') });
  await page.emulateMedia({ media: 'print' });
  assert.equal(await page.locator('nav.toc').isVisible(), false, 'no navigation on paper');
  assert.equal(await page.locator('#site-filter').isVisible(), false, 'no filter box on paper');
  assert.equal(await page.locator('#site-table').isVisible(), true, 'the table is printed');
});

test('three processes: tabs, each with its own sites; JS timers with their source', async (t) => {
  const rep = report([three.file, node, store]);
  assert.equal(rep.processes.length, 3);
  const page = await open(t, bothHtml);
  const tabs = page.locator('.tabs [role="tab"]');
  assert.equal(await tabs.count(), 3);
  assert.equal(await tabs.nth(0).getAttribute('aria-selected'), 'true');
  assert.equal(await page.locator('#site-table tbody tr.row').first().locator('td.where .fn').textContent(), 'leak_one');
  await tabs.nth(1).click();
  await until(() => page.locator('.meta').textContent().then((s) => s.split(' \u00b7 ')[0]), `pid ${nodeRep.process.pid}`,
    'the second process shown');
  assert.equal(await page.locator('#command').textContent(), `${process.execPath} ${REQUESTS_JS} 25`);
  const leakLine = markers(REQUESTS_JS).LEAK.interval;
  const js = nodeRep.timers[0];
  assert.deepEqual([js.kind, js.live, js.frames[0].function, js.frames[0].line], ['js', 25, 'handleRequest', leakLine]);
  const row = page.locator('#timer-table tbody tr.row').first();
  assert.equal(await row.locator('td').nth(1).textContent(), 'JS');
  assert.equal(await row.locator('td').nth(2).textContent(), '25');
  assert.equal(await row.locator('td.where .fn').textContent(), 'handleRequest');
  assert.equal(await row.locator('td.where .tag.js').textContent(), 'JS');
  assert.equal(await row.locator('td.where .loc').textContent(), `requests.js:${leakLine}:${js.frames[0].column}`);
  await row.click();
  const hl = page.locator('#timer-table tr.detail li[data-frame="0"] pre.src span.hl');
  await hl.waitFor();
  assert.equal(await hl.textContent(), sourceLine(REQUESTS_JS, leakLine), 'the JS source line');
  await tabs.nth(1).focus();
  await page.keyboard.press('ArrowLeft');
  await until(() => tabs.nth(0).getAttribute('aria-selected'), 'true', 'arrow keys move between tabs');
});

test('a report that carries a growth summary and JS frames shows them', async (t) => {
  // What other writers add to the JSON (the growth summary, JS frames from
  // perf maps), put into the page by hand, as the page must read it.
  const rep = structuredClone(three.rep);
  rep.growth = {
    span_s: 2.5,
    series: [
      { name: 'rss', unit: 'bytes', first: 2 << 20, last: 3 << 20, per_minute: 24 << 20 },
      { name: 'js_heap_used', unit: 'bytes', first: 4 << 20, last: 54 << 20, per_minute: 1200 << 20 },
      { name: 'timers', unit: 'count', first: 0, last: 50, per_minute: 1200 },
    ],
    retention: [{
      kind: 'js', live: 50, bytes_per_timer: 1 << 20, r2: 0.99, points: 20, against: 'js_heap_used',
      frames: [{ function: 'UNSAFE_componentWillMount', file: '/app/src/App.js', line: 12, column: 5 }],
    }],
  };
  rep.sites[0].frames.splice(1, 0, { function: 'render', file: '/app/x.js', line: 7, column: 3, js: true, tier: 'optimized' });
  rep.timers.unshift({ kind: 'js', live: 50, created: 50, repeating: true, interval_ns: 1e9, oldest_age_s: 2,
    frames: rep.growth.retention[0].frames });
  const file = path.join(dir, 'growth.html');
  const text = fs.readFileSync(threeHtml, 'utf8');
  const json = JSON.stringify(rep).replace(/</g, '\\u003c');
  fs.writeFileSync(file, text.replace(/(<script type="application\/json" id="lt-report">)[^<]*/, (_, a) => a + json));
  const page = await open(t, file);
  assert.deepEqual(await page.locator('#growth-card tbody tr').evaluateAll((rows) => rows.map((r) => r.dataset.series)),
    ['rss', 'js_heap_used', 'timers'], 'the series, in the report\'s order');
  assert.equal(await page.locator('#growth-card tr[data-series="js_heap_used"] td').first().textContent(), 'JS heap used');
  assert.equal(await page.locator('#growth-card tr[data-series="js_heap_used"] td').nth(3).textContent(), '+50.0 MiB');
  assert.match(await page.locator('#growth-card .retention').textContent(),
    /^The JS heap grows with the live JS timers of UNSAFE_componentWillMount App\.js:12:5: about 1\.0 MiB more with each live timer \(50 live, R² 0\.99 over 20 points\)\.$/);
  const row = page.locator('#timer-table tbody tr.row').first();
  assert.equal(await row.locator('td').nth(6).textContent(), '\u2248 1.0 MiB', 'the retained bytes of its timers');
  await page.locator('#site-table tbody tr.row').first().click();
  const f1 = page.locator('#detail-0-0 ol.stack > li[data-frame="1"]');
  await f1.waitFor();
  assert.equal(await f1.locator('.tag.js').textContent(), 'JS optimized');
  assert.equal(await f1.locator('.loc').textContent(), '/app/x.js:7:3');
});

/** bytes() of the page, for the figures this test reads back. */
function pageBytes(n) {
  let v = n, u = -1;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    u++;
  }
  return u < 0 ? `${Math.round(v)} bytes` : `${v.toFixed(1)} ${['KiB', 'MiB', 'GiB', 'TiB', 'PiB'][u]}`;
}

test('node: the JS heap and JS timers on the timeline, sites named by their JS frame', async (t) => {
  // The JS timeline as node/leaktrace.js wrote it, read here on its own,
  // and as the page's data carries it: same points in time order.
  const state = JSON.parse(fs.readFileSync(store.replace(/\.lt$/, '.js.json'), 'utf8'));
  const pts = [...state.timeline].sort((a, b) => a.time_ms - b.time_ms);
  assert.ok(pts.length >= 3, `a JS timeline of several points: ${pts.length}`);
  const last = pts[pts.length - 1];
  assert.equal(last.timers_live, STORE_ROUNDS, 'one live poller per round at the end');
  const ex = embedded(bothHtml, 'lt-extra').processes;
  assert.deepEqual(ex.map((x) => x.pid), [three.rep.process.pid, nodeRep.process.pid, storeRep.process.pid]);
  assert.deepEqual(ex[0].js_timeline, [], 'no JS timeline for a native process');
  const jtl = ex[2].js_timeline;
  assert.deepEqual(jtl.map((x) => [x.heap_used, x.heap_total, x.timers_live]),
    pts.map((x) => [x.heap_used, x.heap_total, x.timers_live]), 'every JS point, in time order');
  // On the trace's axis: the last JS point (written at exit) lies near the
  // trace's last tick (taken at exit too), not at epoch seconds.
  const tlLast = storeRep.timeline[storeRep.timeline.length - 1].t;
  assert.ok(Math.abs(jtl[jtl.length - 1].t - tlLast) < 2, `JS ${jtl[jtl.length - 1].t} s beside the trace's ${tlLast} s`);
  assert.ok(jtl.every((x, i) => i === 0 || x.t >= jtl[i - 1].t), 'times ascending');

  const page = await open(t, bothHtml);
  await page.locator('.tabs [role="tab"]').nth(2).click();
  await until(() => page.locator('.meta').textContent().then((x) => x.split(' \u00b7 ')[0]), `pid ${storeRep.process.pid}`,
    'the node process shown');
  const legend = page.locator('#timeline .legend label');
  assert.deepEqual(await legend.evaluateAll((ls) => ls.map((l) => [l.dataset.series, l.querySelector('input').checked])),
    [['rss', true], ['mapped', true], ['js_heap_used', true], ['js_heap_total', false], ['malloc', true], ['timers', true], ['js_timers', true]]);
  const chart = page.locator('#timeline .chart svg');
  const pathPoints = (key) => chart.locator(`path[data-series="${key}"]`).getAttribute('d').then((d) => (d.match(/[ML]/g) || []).length);
  assert.equal(await pathPoints('js_heap_used'), jtl.length, 'the JS heap line, a point per JS point');
  assert.equal(await pathPoints('js_timers'), jtl.length, 'the JS timers line');
  assert.equal(await chart.locator('path[data-series="js_heap_total"]').count(), 0, 'the heap total, off at first');
  // The last values, in the tooltip at the end of the chart.
  await chart.focus();
  await page.keyboard.press('End');
  const tipValue = (key) => page.locator(`#timeline .tip div[data-series="${key}"] strong`).textContent();
  assert.equal(await tipValue('js_timers'), String(STORE_ROUNDS));
  assert.equal(await tipValue('js_heap_used'), pageBytes(last.heap_used));
  const tl = storeRep.timeline[storeRep.timeline.length - 1];
  assert.equal(await tipValue('rss'), pageBytes(tl.rss), 'the trace\'s own series, at its last point');
  // A window selected with the keyboard still filters the sites.
  await page.keyboard.press('Home');
  await page.keyboard.press('Shift+End');
  await page.locator('#window-note .window').waitFor();
  await page.keyboard.press('Escape');
  await until(() => page.locator('#window-note .window').count(), 0, 'Escape clears the window');
  await legend.nth(6).locator('input').uncheck();
  await until(() => chart.locator('path[data-series="js_timers"]').count(), 0, 'its checkbox hides the JS timers line');

  // The biggest site of createStore: its first frame is node's allocator,
  // its name the first JS frame of a script that is not node's own.
  const si = storeRep.sites.findIndex((x) => x.frames.some((f) => f.function === 'createStore'));
  assert.ok(si >= 0, 'a site allocated from createStore');
  const site = storeRep.sites[si];
  const k = site.frames.findIndex((f) => f.js === true && f.file && !f.file.startsWith('node:'));
  assert.ok(k > 0 && !site.frames[0].js, `native frames first: ${JSON.stringify(site.frames.slice(0, k + 1).map((f) => f.function))}`);
  assert.equal(site.frames[k].function, 'createStore');
  const row = page.locator(`#site-${2}-${si}`);
  assert.equal(await row.locator('td.where .fn').textContent(), 'createStore');
  assert.equal(await row.locator('td.where .loc').textContent(), `store.js:${markers(STORE_JS).FUNCTION.createStore}:${site.frames[k].column}`);
  assert.equal(await row.locator('td.where .native').textContent(), `#0 ${site.frames[0].function} \u00b7 ${path.basename(site.frames[0].module)}`);
  // A site of no JS frame keeps its first frame, with no second line.
  const ni = storeRep.sites.findIndex((x) => !x.frames.some((f) => f.js));
  assert.ok(ni >= 0, 'a site with no JS frame');
  assert.equal(await page.locator(`#site-2-${ni} td.where .fn`).textContent(), storeRep.sites[ni].frames[0].function);
  assert.equal(await page.locator(`#site-2-${ni} td.where .native`).count(), 0);
  // The stack stays whole.
  await row.click();
  assert.equal(await page.locator(`#detail-2-${si} ol.stack > li`).count(), site.frames.length);
  await page.locator('#timeline').screenshot({ path: path.join(SHOTS, 'node-timeline-1280x800.png') });

  // The Leaks card lists the lines check judges leaks, as the JSON does.
  const pleaks = storeRep.places.filter((x) => x.verdict === 'leak' && x.checked);
  assert.deepEqual(await page.locator('#leak-card .place-leaks li .where').allTextContents(), pleaks.map((x) => x.where));
});

test('repeating timers never cleared: a leak in the Leaks card, as check judges them', async (t) => {
  const [leak] = intervalsRep.growth.timer_leaks;
  assert.ok(leak && leak.live > 100, `the intervals judged a timer leak: ${JSON.stringify(intervalsRep.growth.timer_leaks)}`);
  const page = await open(t, intervalsHtml);
  const items = page.locator('#leak-card .timer-leaks li');
  assert.equal(await items.count(), 1);
  const text = await items.first().textContent();
  assert.ok(text.startsWith(`leak watch intervals.js:${markers(INTERVALS_JS).TIMER.watch}:`), text);
  assert.ok(text.includes(` ${leak.live} live JS timers repeating every 60,000 ms, made steadily and never cleared (+`), text);
  assert.match(await page.locator('.meta').textContent(), /^pid \d+ \u00b7 exit status 0 \u00b7 /);
});
