// The HTML report's script: draws everything from the JSON report embedded
// in the page (#lt-report, exactly what `leaktrace report --format json`
// writes) and the page's own data (#lt-extra: how many sites each process
// had in all, source lines around the frames). Plain JS, no library, no
// network. Every name from a trace goes into the page as text, never as
// markup.
'use strict';

// ---------------------------------------------------------------- helpers

const SVGNS = 'http://www.w3.org/2000/svg';

/** An element: h('td', {class: 'num', title: 'x', onclick: f}, child...). */
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

/** An SVG element, as h(). */
function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVGNS, tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

function setAttrs(el, attrs) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'text') el.textContent = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

const basename = (p) => (typeof p === 'string' ? p.replace(/\/+$/, '').split('/').pop() || p : '');
const num = (n) => (typeof n === 'number' && Number.isFinite(n) ? n : null);
/* The memory a timer site's retention was fitted against, for people. */
const againstName = (a) => ({ js_heap_used: 'JS heap', malloc_and_mappings: 'live malloc and mapped memory' })[a] || 'memory';
const plural = (n, one, many = one + 's') => `${typeof n === 'number' ? group(n) : n} ${n === 1 ? one : many}`;
const group = (n) => Math.round(n).toLocaleString('en-US');

/** 1.5 KiB, 512 bytes: as the text report says it, without the exact figure. */
function bytes(n) {
  if (num(n) === null) return '?';
  const units = ['KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = Math.abs(n), u = -1;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  const sign = n < 0 ? '-' : '';
  if (u >= 0) return `${sign}${v.toFixed(1)} ${units[u]}`;
  v = Math.round(v); /* a rate per minute need not be whole: the text report rounds it too */
  return `${sign}${v} ${v === 1 ? 'byte' : 'bytes'}`;
}

const exactBytes = (n) => (num(n) === null ? '' : `${group(n)} ${Math.abs(n) === 1 ? 'byte' : 'bytes'}`);
const signedBytes = (n) => (num(n) === null ? '?' : (n > 0 ? '+' : '') + bytes(n));

function signedCount(n) {
  if (num(n) === null) return '?';
  const r = Math.abs(n) >= 100 ? Math.round(n) : Math.round(n * 10) / 10;
  return (r > 0 ? '+' : '') + r.toLocaleString('en-US');
}

/**
 * Seconds for an axis or a tooltip: 0.25 s, 12.4 s, 3 min 05 s; 0.015 s
 * under a tenth. On an axis, STEP (its ticks' spacing) sets the decimals,
 * so that no two ticks read alike (0.004 s, 0.006 s).
 */
function seconds(t, step) {
  if (num(t) === null) return '?';
  if (step > 0 && step < 1 && Math.abs(t) < 120) {
    let d = 0; // the decimals the step has: 0.0025 has 4
    while (d < 6 && Math.abs(step * 10 ** d - Math.round(step * 10 ** d)) > 1e-6) d++;
    return `${+t.toFixed(d)} s`;
  }
  if (Math.abs(t) < 0.1 && t !== 0) return `${+t.toFixed(3)} s`;
  if (Math.abs(t) < 10) return `${+t.toFixed(2)} s`;
  if (Math.abs(t) < 120) return `${+t.toFixed(1)} s`;
  const m = Math.floor(t / 60), sec = Math.round(t - 60 * m);
  return `${m} min ${String(sec).padStart(2, '0')} s`;
}

const debounce = (f, ms) => {
  let id = 0;
  return (...a) => {
    clearTimeout(id);
    id = setTimeout(() => f(...a), ms);
  };
};

// ------------------------------------------------------------------- data

function readJson(id) {
  const el = document.getElementById(id);
  return el ? JSON.parse(el.textContent) : null;
}

const REPORT = readJson('lt-report');
const EXTRA = readJson('lt-extra') || { processes: [], sources: {} };
const SOURCES = EXTRA.sources || {};

/** The processes of the report, whether it has one (the report is the
 * process) or several ("processes", perhaps with "across"). */
const PROCS = REPORT.processes ? REPORT.processes : [REPORT];
const ACROSS = REPORT.processes && REPORT.across ? REPORT.across : null;

const VERDICT_ORDER = { leak: 0, unclear: 1, cache: 2, transient: 3 };
const VERDICT_TITLE = {
  leak: 'grows steadily and never comes back',
  cache: 'grew to a plateau and stays there',
  transient: 'comes back down',
  unclear: 'too short or too uneven a history to tell',
};

const SERIES_NAMES = {
  rss: 'RSS',
  js_heap_used: 'JS heap used',
  js_heap_total: 'JS heap total',
  js_external: 'JS external',
  js_array_buffers: 'JS array buffers',
  malloc: 'native malloc',
  mappings: 'mappings',
  timers: 'live timers',
};

function extraOf(p, i) {
  const list = EXTRA.processes || [];
  return list.find((x) => x.pid === p.process?.pid) || list[i] || null;
}

// ----------------------------------------------------------------- frames

const isJs = (f, kind) => f.js === true || kind === 'js';

/** What a frame is called: its function, or where it is when unknown. */
function frameName(f) {
  if (f.function) return f.function;
  if (f.module && f.address) return `${basename(f.module)}+${f.address}`;
  return f.address || '??';
}

/** file:line(:column) of a frame, the file by its base name; '' if none. */
function frameLoc(f, full = false) {
  if (!f.file) return '';
  let loc = full ? f.file : basename(f.file);
  if (f.line) loc += `:${f.line}`;
  if (f.line && f.column) loc += `:${f.column}`;
  return loc;
}

/** One line for where a site or a timer was made: its first frame. */
function whereOf(frames) {
  if (!frames || !frames.length) return '(no frames recorded)';
  const f = frames[0];
  const loc = frameLoc(f);
  return loc ? `${frameName(f)} ${loc}` : frameName(f);
}

/** The frame a site is named by: in node the innermost frames are V8's and
 * node's own (v8::base::OS::SetPermissions, Buffer's internals), and what
 * tells the user something is the first JS frame of a script that is not
 * node's (node:...). Its index, or 0 (the first frame) when there is none. */
function siteFrameIndex(frames) {
  const i = (frames || []).findIndex((f) => f.js === true && typeof f.file === 'string' && f.file && !f.file.startsWith('node:') &&
    !f.file.endsWith('/node/leaktrace.js'));
  return i > 0 ? i : 0;
}

/** One line for where a site was made: its application's JS frame when it
 * has one, else its first frame. A mapping in node is V8's heap at work,
 * no line's: named by its first frame, as the text report names it. */
const siteWhereOf = (frames, kind) => whereOf((frames || []).slice(kind === 'mapping' ? 0 : siteFrameIndex(frames)));

/** The second line of a site named by a JS frame deeper in its stack: its
 * first (native) frame, which did the allocating; null for the others. */
function siteNative(frames) {
  const k = siteFrameIndex(frames);
  if (!k) return null;
  const f = frames[0];
  const loc = frameLoc(f);
  return h('span', { class: 'sub mono native', title: `#0, where it allocated: ${frameName(f)}${loc ? ' ' + frameLoc(f, true) : ''}${f.module ? ' in ' + f.module : ''}` },
    `#0 ${frameName(f)}${f.module ? ` \u00b7 ${basename(f.module)}` : ''}`);
}

function frameTags(f, kind) {
  const tags = [];
  if (isJs(f, kind)) tags.push(h('span', { class: 'tag js', title: 'a JavaScript frame' }, f.tier ? `JS ${f.tier}` : 'JS'));
  if (f.inlined) tags.push(h('span', { class: 'tag', title: 'inlined into the frame below' }, 'inlined'));
  return tags;
}

/** The source lines of a frame: the page's data holds a few around it. */
function sourceOf(f) {
  if (!f.file || !f.line) return null;
  const file = SOURCES[f.file];
  if (!file) return null;
  const lines = [];
  for (let l = f.line - 3; l <= f.line + 3; l++)
    if (typeof file[String(l)] === 'string') lines.push([l, file[String(l)]]);
  return lines.some(([l]) => l === f.line) ? lines : null;
}

function sourceBlock(f, context) {
  const lines = sourceOf(f);
  if (!lines) return null;
  const shown = context ? lines : lines.filter(([l]) => l === f.line);
  return h('pre', { class: 'src', 'aria-label': `source of ${frameLoc(f, true)}` },
    shown.map(([l, text]) => h('span', { class: l === f.line ? 'hl' : null, 'data-line': l }, text || ' ')));
}

/** A stack, innermost first, with source lines where the files were read:
 * the first frame with a source gets the lines around it, the others their
 * own line. */
function stackList(frames, kind) {
  let contextGiven = false;
  return h('ol', { class: 'stack' }, frames.map((f, i) => {
    const loc = frameLoc(f, true);
    const withContext = !contextGiven && sourceOf(f) !== null;
    if (withContext) contextGiven = true;
    return h('li', { 'data-frame': i },
      h('span', { class: 'n' }, `#${i}`),
      h('span', { class: 'fn mono' }, frameName(f)),
      frameTags(f, kind),
      loc ? [' ', h('span', { class: 'loc mono', title: loc }, loc)] : null,
      f.module ? h('span', { class: 'sub mono', title: f.module }, `${basename(f.module)}${f.address ? ' ' + f.address : ''}`) : null,
      sourceBlock(f, withContext));
  }));
}

// ------------------------------------------------------------------ chart

/** Round ticks from lo (at or below it) to hi (at or above it), about
 * `want` of them: powers of 1024 for bytes, whole numbers for counts. */
function niceTicks(lo, hi, want, kind) {
  if (!(hi > lo)) hi = lo + 1;
  let unit = 1;
  if (kind === 'bytes') while ((hi - lo) / unit >= 1024 * 2) unit *= 1024;
  const raw = (hi - lo) / unit / want;
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  let step = ([1, 2, 2.5, 5, 10].find((m) => m * mag >= raw) || 10) * mag * unit;
  if (kind !== 'time') step = Math.max(step, 1);
  const ticks = [];
  const first = Math.floor(lo / step + 1e-9) * step;
  for (let v = first; ticks.length < 1000; v += step) {
    ticks.push(v);
    if (v >= hi - step * 1e-9) break;
  }
  return ticks;
}

/**
 * A chart over time of one or more panels stacked on one time axis, each
 * with its own vertical axis. opts: t (seconds); panels [{title, unit:
 * 'bytes'|'count', height, series: [{key, name, color, values, t, dash, off}]}],
 * a series on times of its own when it has t (node's JS timeline is taken
 * at other moments than the trace's), hidden at first when off; marks
 * [{t, name}] (snapshots); interactive (hover, drag or Shift+arrows to
 * select a window, Escape to clear); selection [t0, t1]; onSelect(range or
 * null); snapshotAt(i); label, for screen readers. Returns {el, redraw,
 * setSelection, toggle}.
 */
function lineChart(opts) {
  const wrap = h('div', { class: 'chart' });
  const tip = h('div', { class: 'tip', hidden: true });
  const t = opts.t;
  const timesOf = (ser) => ser.t || t;
  // The cursor moves over every moment some series has a point at.
  const times = [...new Set([t, ...opts.panels.flatMap((pn) => pn.series.map((x) => x.t || []))].flat())].sort((a, b) => a - b);
  /** The point of SER shown at time TV: its last at or before it, -1 if none. */
  const pointAt = (ser, tv) => {
    const st = timesOf(ser);
    let i = -1;
    for (let k = 0; k < st.length && st[k] <= tv + 1e-9; k++) i = k;
    return i;
  };
  let svgEl = null, geom = null, cursor = -1, anchor = -1, drag = null;
  let selection = opts.selection || null;
  const hidden = new Set(opts.panels.flatMap((pn) => pn.series.filter((x) => x.off).map((x) => x.key)));
  const shown = (panel) => panel.series.filter((x) => !hidden.has(x.key));
  const all = () => opts.panels.flatMap(shown);

  function layout(width) {
    const m = { l: 64, r: 14, b: 22, gap: 8 };
    const t0 = times[0], t1 = times.length > 1 && times[times.length - 1] > t0 ? times[times.length - 1] : t0 + 1;
    let top = 4;
    const panels = opts.panels.map((panel) => {
      const title = panel.title ? 16 : 4;
      const y0 = top + title, y1 = top + panel.height;
      top = y1 + m.gap;
      const vals = shown(panel).flatMap((x) => x.values);
      const lo = Math.min(0, ...vals), hi = vals.length ? Math.max(...vals) : 1;
      const ticks = niceTicks(lo, hi > lo ? hi : lo + 1, panel.height > 110 ? 4 : 2, panel.unit);
      const a = ticks[0], b = ticks[ticks.length - 1];
      return { panel, top: top - panel.height - m.gap, y0, y1, ticks, y: (v) => y1 - ((v - a) / (b - a || 1)) * (y1 - y0) };
    });
    const height = top - m.gap + m.b;
    const x = (v) => m.l + ((v - t0) / (t1 - t0)) * (width - m.l - m.r);
    const tOf = (px) => t0 + ((px - m.l) / (width - m.l - m.r)) * (t1 - t0);
    return { width, height, m, x, tOf, t0, t1, panels, plotTop: panels[0].y0, plotBottom: panels[panels.length - 1].y1 };
  }

  // One <svg> for the chart's life, its contents drawn anew: it keeps the
  // focus and its listeners.
  function draw() {
    const width = Math.max(wrap.clientWidth || 600, 240);
    const g = (geom = layout(width));
    if (!svgEl) {
      svgEl = s('svg', { role: 'img', 'aria-label': opts.label || 'chart', tabindex: opts.interactive ? 0 : null });
      wrap.prepend(svgEl);
      if (opts.interactive) hook(svgEl);
    }
    svgEl.setAttribute('viewBox', `0 0 ${g.width} ${g.height}`);
    svgEl.setAttribute('height', g.height);
    const out = document.createDocumentFragment();
    const axis = s('g', { class: 'axis' });
    const fmt = (unit) => (unit === 'count' ? group : bytes);
    for (const pn of g.panels) {
      if (pn.panel.title) axis.append(s('text', { class: 'label title', x: g.m.l, y: pn.top + 12 }, pn.panel.title));
      for (const v of pn.ticks)
        axis.append(s('line', { class: 'grid', x1: g.m.l, x2: g.width - g.m.r, y1: pn.y(v), y2: pn.y(v) }),
          s('text', { x: g.m.l - 6, y: pn.y(v) + 4, 'text-anchor': 'end' }, fmt(pn.panel.unit)(v)));
    }
    const ticks = niceTicks(g.t0, g.t1, Math.max(2, Math.floor(g.width / 110)), 'time');
    const step = ticks.length > 1 ? ticks[1] - ticks[0] : 0;
    for (const v of ticks) {
      if (v < g.t0 - 1e-9 || v > g.t1 + 1e-9) continue;
      axis.append(s('line', { class: 'grid', x1: g.x(v), x2: g.x(v), y1: g.plotTop, y2: g.plotBottom }),
        s('text', { x: g.x(v), y: g.height - 6, 'text-anchor': 'middle' }, seconds(v, step)));
    }
    out.append(axis);
    const band = (a, b) => s('rect', { class: 'selection', x: g.x(a), y: g.plotTop, width: Math.max(1, g.x(b) - g.x(a)), height: g.plotBottom - g.plotTop });
    if (selection) out.append(band(selection[0], selection[1]));
    if (drag) out.append(band(Math.min(drag.a, drag.b), Math.max(drag.a, drag.b)));
    for (const mk of opts.marks || []) {
      const px = g.x(mk.t);
      out.append(s('line', { class: 'snap', x1: px, x2: px, y1: g.plotTop, y2: g.plotBottom }),
        s('text', { class: 'label', x: px + 3, y: g.plotTop + 10 }, mk.name));
    }
    for (const pn of g.panels)
      for (const ser of shown(pn.panel)) {
        const st = timesOf(ser);
        const d = ser.values.map((v, i) => `${i ? 'L' : 'M'}${g.x(st[i]).toFixed(1)},${pn.y(v).toFixed(1)}`).join('');
        out.append(s('path', { class: `series${ser.dash ? ' dashed' : ''}`, d, style: `stroke:${ser.color}`, 'data-series': ser.key }));
        if (st.length === 1) out.append(s('circle', { cx: g.x(st[0]), cy: pn.y(ser.values[0]), r: 3, style: `fill:${ser.color}` }));
      }
    if (cursor >= 0) {
      const px = g.x(times[cursor]);
      out.append(s('line', { class: 'cursor', x1: px, x2: px, y1: g.plotTop, y2: g.plotBottom }));
      for (const pn of g.panels)
        for (const ser of shown(pn.panel)) {
          const i = pointAt(ser, times[cursor]);
          if (i >= 0) out.append(s('circle', { cx: g.x(timesOf(ser)[i]), cy: pn.y(ser.values[i]), r: 3.5, style: `fill:${ser.color}` }));
        }
    }
    svgEl.replaceChildren(out);
  }

  function nearest(tv) {
    let best = 0;
    for (let i = 1; i < times.length; i++) if (Math.abs(times[i] - tv) < Math.abs(times[best] - tv)) best = i;
    return best;
  }

  function showTip() {
    if (cursor < 0) {
      tip.hidden = true;
      return;
    }
    const tc = times[cursor];
    const main = t.indexOf(tc);
    const snap = opts.snapshotAt && main >= 0 ? opts.snapshotAt(main) : null;
    tip.replaceChildren(h('div', null, h('strong', null, seconds(tc)), snap ? ` \u00b7 snapshot ${snap}` : ''));
    for (const pn of opts.panels)
      for (const ser of shown(pn)) {
        // A series with no point yet at this moment says so.
        const i = pointAt(ser, tc), v = i >= 0 ? ser.values[i] : null;
        tip.append(h('div', { 'data-series': ser.key }, h('span', { class: 'sw', style: `background:${ser.color}` }), `${ser.name}: `,
          h('strong', null, v === null ? '\u2014' : pn.unit === 'count' ? group(v) : bytes(v))));
      }
    tip.hidden = false;
    // Beside the cursor, on the side with room. The chart is drawn 1:1.
    const px = geom.x(tc);
    const w = tip.offsetWidth;
    const left = px + 12 + w <= wrap.clientWidth ? px + 12 : px - 12 - w;
    tip.style.left = `${Math.max(0, left)}px`;
    tip.style.top = `${geom.plotTop + 4}px`;
  }

  function setSelection(range) {
    selection = range;
    if (opts.onSelect) opts.onSelect(range);
  }

  function hook(el) {
    const toT = (ev) => {
      const r = el.getBoundingClientRect();
      const px = ((ev.clientX - r.left) / r.width) * geom.width;
      return Math.min(geom.t1, Math.max(geom.t0, geom.tOf(px)));
    };
    const update = () => {
      draw();
      showTip();
    };
    // A pointer that did not move (the browser sends such an event when
    // the page's layout changes under a resting mouse) leaves the cursor
    // where the keyboard put it.
    let at = null;
    el.addEventListener('pointermove', (ev) => {
      const still = at !== null && at.x === ev.clientX && at.y === ev.clientY;
      at = { x: ev.clientX, y: ev.clientY };
      if (still && !drag) return;
      const tv = toT(ev);
      if (drag) drag.b = tv;
      cursor = nearest(tv);
      update();
    });
    el.addEventListener('pointerleave', () => {
      at = null;
      if (drag) return;
      cursor = -1;
      update();
    });
    el.addEventListener('pointerdown', (ev) => {
      if (ev.button !== 0 || !opts.onSelect) return;
      drag = { a: toT(ev), b: toT(ev), x: ev.clientX };
      el.setPointerCapture(ev.pointerId);
    });
    el.addEventListener('pointerup', (ev) => {
      if (!drag) return;
      const d = drag;
      drag = null;
      // A click is not a window.
      if (Math.abs(ev.clientX - d.x) > 4) setSelection([Math.min(d.a, d.b), Math.max(d.a, d.b)]);
      update();
    });
    el.addEventListener('pointercancel', () => {
      drag = null;
      update();
    });
    // The keyboard: arrows move the cursor, with Shift they stretch a
    // window from where it started, Escape clears it.
    el.addEventListener('keydown', (ev) => {
      const n = times.length;
      if (['ArrowRight', 'ArrowLeft', 'Home', 'End'].includes(ev.key)) {
        ev.preventDefault();
        const prev = cursor < 0 ? 0 : cursor;
        const step = ev.key === 'ArrowRight' ? 1 : ev.key === 'ArrowLeft' ? -1 : 0;
        cursor = ev.key === 'Home' ? 0 : ev.key === 'End' ? n - 1 : Math.max(0, Math.min(n - 1, prev + (cursor < 0 ? 0 : step)));
        if (ev.shiftKey && opts.onSelect) {
          if (anchor < 0) anchor = prev;
          if (cursor !== anchor) setSelection([times[Math.min(anchor, cursor)], times[Math.max(anchor, cursor)]]);
        } else {
          anchor = -1;
        }
        update();
      } else if (ev.key === 'Escape') {
        anchor = -1;
        cursor = -1;
        setSelection(null);
        update();
      }
    });
    el.addEventListener('blur', () => {
      cursor = -1;
      anchor = -1;
      update();
    });
  }

  wrap.append(tip);
  const redraw = () => {
    if (wrap.isConnected) draw();
  };
  return {
    el: wrap,
    redraw,
    setSelection(range) {
      selection = range;
      redraw();
    },
    toggle(key, hide) {
      if (hide) hidden.add(key);
      else hidden.delete(key);
      redraw();
    },
  };
}

// -------------------------------------------------------- the whole page

const app = document.getElementById('app');
const charts = new Set();
let lastWidth = 0;
new ResizeObserver(debounce(() => {
  if (document.body.clientWidth === lastWidth) return;
  lastWidth = document.body.clientWidth;
  redrawCharts();
}, 60)).observe(document.body);

/** Draws the charts that are in the page, forgets those that left it. */
function redrawCharts() {
  for (const c of charts) {
    if (c.el && !c.el.isConnected) charts.delete(c);
    else c.redraw();
  }
}

const state = { proc: 0 };
const procState = PROCS.map(() => ({
  sort: { key: 'rank', dir: 1 },
  filter: '',
  verdict: '',
  window: null,
  open: new Set(),
  zoom: null,
  search: '',
}));

function render() {
  charts.clear();
  const p = PROCS[state.proc];
  app.replaceChildren(header(p), toc(p), h('main', { id: 'main' },
    summarySection(p, state.proc),
    timelineSection(p, state.proc),
    sitesSection(p, state.proc),
    flameSection(p, state.proc),
    timersSection(p, state.proc),
    ACROSS ? acrossSection() : null));
  lastWidth = document.body.clientWidth;
  requestAnimationFrame(redrawCharts);
}

function commandLine(p) {
  const cmd = p.process?.command || [];
  return cmd.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ') || '?';
}

/** A short name for a process: its program, or node's script. */
function programName(p) {
  const cmd = p.process?.command || [];
  const script = /(^|\/)node$/.test(cmd[0] || '') ? cmd.slice(1).find((a) => !a.startsWith('-')) : null;
  return basename(script || cmd[0]) || '?';
}

function header(p) {
  const pr = p.process || {};
  document.title = `leaktrace: ${commandLine(p)} (pid ${pr.pid})`;
  const els = [
    h('h1', null, h('span', { class: 'tool' }, 'leaktrace \u00b7 '), h('span', { class: 'mono', id: 'command' }, commandLine(p))),
    h('div', { class: 'meta' }, `pid ${pr.pid} \u00b7 `,
      pr.ended || (pr.complete ? 'exited' : 'did not exit cleanly'),
      pr.complete ? '' : ': its figures are as of its last update',
      EXTRA.leaktrace ? ` \u00b7 leaktrace ${EXTRA.leaktrace}` : ''),
  ];
  if (PROCS.length > 1) {
    const tabs = h('div', { class: 'tabs', role: 'tablist', 'aria-label': 'processes' });
    PROCS.forEach((q, i) => {
      const leaks = (q.sites || []).filter((x) => x.verdict === 'leak').length;
      const btn = h('button', {
        role: 'tab', 'aria-selected': i === state.proc ? 'true' : 'false', tabindex: i === state.proc ? 0 : -1,
        title: commandLine(q),
        onclick: () => {
          state.proc = i;
          render();
          document.querySelector('.tabs [aria-selected="true"]')?.focus();
        },
        onkeydown: (ev) => {
          const d = ev.key === 'ArrowRight' ? 1 : ev.key === 'ArrowLeft' ? -1 : 0;
          if (!d) return;
          ev.preventDefault();
          state.proc = (state.proc + d + PROCS.length) % PROCS.length;
          render();
          document.querySelector('.tabs [aria-selected="true"]')?.focus();
        },
      }, `pid ${q.process?.pid} \u00b7 ${programName(q)} \u00b7 ${bytes(q.summary?.live_bytes)}${leaks ? ` \u00b7 ${plural(leaks, 'leak')}` : ''}`);
      tabs.append(btn);
    });
    els.push(tabs);
  }
  return h('header', { class: 'top' }, els);
}

function toc(p) {
  const links = [['summary', 'Summary'], ['timeline', 'Timeline'], ['sites', `Sites (${(p.sites || []).length})`],
    ['flame', 'Flame graph'], ['timers', `Timers (${(p.timers || []).reduce((a, x) => a + (x.live || 0), 0)})`]];
  if (ACROSS) links.push(['across', 'Across processes']);
  return h('nav', { class: 'toc', 'aria-label': 'sections' }, links.map(([id, text]) => h('a', { href: `#${id}` }, text)));
}

// ---------------------------------------------------------------- summary

/** Where growth went: the report's own figures when it has them (the
 * "growth" member), else first and last of the timeline. */
function growthRows(p) {
  if (p.growth && Array.isArray(p.growth.series))
    return {
      span: p.growth.span_s,
      source: 'robust slope over the run',
      rows: p.growth.series.map((x) => ({
        key: x.name, name: SERIES_NAMES[x.name] || x.name, unit: x.unit, first: x.first, last: x.last, perMin: x.per_minute,
      })),
    };
  const tl = p.timeline || [];
  if (tl.length < 2) return null;
  const span = tl[tl.length - 1].t - tl[0].t;
  const row = (key, name, unit, get) => {
    const first = get(tl[0]), last = get(tl[tl.length - 1]);
    return { key, name, unit, first, last, perMin: span > 0 ? ((last - first) / span) * 60 : null };
  };
  return {
    span,
    source: 'last point minus first, over the span',
    rows: [row('rss', 'RSS', 'bytes', (x) => x.rss), row('malloc', 'native malloc', 'bytes', (x) => x.live_bytes),
      row('mappings', 'mappings', 'bytes', (x) => x.mapped_bytes), row('timers', 'live OS timers', 'count', (x) => x.timers_live)],
  };
}

function summarySection(p, pi) {
  const sites = p.sites || [];
  const v = p.verdicts || {};
  const leaks = sites.filter((x) => x.verdict === 'leak');
  const cards = [];

  const leakCard = h('div', { class: 'card', id: 'leak-card' }, h('h3', null, 'Leaks'));
  // Repeating timers made steadily and never cleared: a leak whatever
  // they hold, as check judges them.
  const tleaks = p.growth?.timer_leaks || [];
  if (tleaks.length) {
    leakCard.append(h('ul', { class: 'leaks timer-leaks' }, tleaks.map((x) => h('li', null,
      h('span', { class: 'badge leak' }, 'leak'), ' ', h('span', { class: 'mono where' }, whereOf(x.frames)), ' ',
      `${plural(x.live, `live ${x.kind === 'js' ? 'JS ' : ''}timer`)} repeating every ${group(Math.round(x.interval_ns / 1e6))} ms, ` +
      `made steadily and never cleared (`, h('span', { class: 'up' }, `${signedCount(x.per_minute)}/min`), ')'))));
  }
  // The lines of the program's code judged leaks, their stacks summed, as
  // check judges them: V8 reaches one line through many stacks, none of
  // which alone need look like a leak.
  const pleaks = (p.places || []).filter((x) => x.verdict === 'leak' && x.checked);
  if (pleaks.length) {
    leakCard.append(h('p', { class: 'note' }, 'By the line that holds them, its stacks summed (as check judges):'),
      h('ul', { class: 'leaks place-leaks' }, pleaks.slice(0, 8).map((x) => {
        const first = (x.site_indexes || [])[0];
        return h('li', null, h('span', { class: 'badge leak' }, 'leak'), ' ', h('span', { class: 'mono where' }, x.where), ' ',
          h('span', { class: 'up' }, `${signedBytes((x.growth_bytes_per_s ?? NaN) * 60)}/min`), `, ${bytes(x.live_bytes)} live`,
          x.stacks > 1 ? ` from ${plural(x.stacks, 'stack')}` : '',
          first === undefined ? null : h('button', { onclick: () => openSite(pi, first), 'aria-label': `show site ${first + 1}` }, 'show'));
      })));
    if (pleaks.length > 8) leakCard.append(h('p', { class: 'note' }, `and ${pleaks.length - 8} more lines`));
  }
  // The sites judged leaks that those lines do not hold already.
  const covered = new Set(pleaks.flatMap((x) => x.site_indexes || []));
  const others = leaks.filter((x) => !covered.has(sites.indexOf(x)));
  if (v.note && !leaks.length) {
    leakCard.append(h('p', { class: 'note' }, `No verdicts: ${v.note}.`));
  } else if (!others.length) {
    if (!pleaks.length) leakCard.append(h('p', null, tleaks.length ? 'No allocation site is judged a leak.' : 'No site is judged a leak.'));
  } else {
    if (pleaks.length) leakCard.append(h('p', { class: 'note' }, 'Other sites judged leaks:'));
    leakCard.append(h('ul', { class: 'leaks' }, others.slice(0, 8).map((x) => {
      const rank = sites.indexOf(x);
      return h('li', null, h('span', { class: 'badge leak' }, 'leak'), ' ', h('span', { class: 'mono where' }, siteWhereOf(x.frames, x.kind)), ' ',
        h('span', { class: 'up' }, `${signedBytes((x.growth_bytes_per_s ?? NaN) * 60)}/min`), `, ${bytes(x.live_bytes)} live`,
        h('button', { onclick: () => openSite(pi, rank), 'aria-label': `show leak site ${rank + 1}` }, 'show'),
        x.kind === 'mapping' ? null : siteNative(x.frames));
    })));
    if (others.length > 8) leakCard.append(h('p', { class: 'note' }, `and ${others.length - 8} more in the table of sites`));
  }
  if (v.points !== undefined && v.judged !== false) {
    const counts = [plural(v.leak || 0, 'leak'), plural(v.cache || 0, 'cache'), `${v.transient || 0} transient`, `${v.unclear || 0} unclear`];
    leakCard.append(h('p', { class: 'note' }, `Verdicts: ${counts.join(', ')}; history of ${plural(v.points, 'point')} over ${seconds(v.span_s)}, a tick every ${v.tick_ms} ms${v.estimated ? '; sampled: figures are estimates' : ''}.`));
    if (v.note && leaks.length) leakCard.append(h('p', { class: 'note' }, v.note));
  }
  cards.push(leakCard);

  const g = growthRows(p);
  const gcard = h('div', { class: 'card', id: 'growth-card' }, h('h3', null, g ? `Where the growth went (${seconds(g.span)})` : 'Where the growth went'));
  if (!g) {
    gcard.append(h('p', { class: 'note' }, p.timeline && p.timeline.length ? 'One point of timeline: no growth to tell.' : 'No timeline in this trace.'));
  } else {
    gcard.append(h('div', { class: 'scroll' }, h('table', { class: 'growth' },
      h('thead', null, h('tr', null, h('th', null, ''), h('th', { class: 'wide' }, 'first'), h('th', null, 'last'), h('th', null, 'change'), h('th', null, 'per minute'))),
      h('tbody', null, g.rows.map((r) => {
        const fmt = r.unit === 'count' ? (n) => group(n) : bytes;
        const sfmt = r.unit === 'count' ? signedCount : signedBytes;
        const change = num(r.last) !== null && num(r.first) !== null ? r.last - r.first : null;
        return h('tr', { 'data-series': r.key }, h('td', null, r.name), h('td', { class: 'wide' }, fmt(r.first)), h('td', null, fmt(r.last)),
          h('td', { class: change > 0 ? 'up' : null }, sfmt(change)), h('td', { class: r.perMin > 0 ? 'up' : null }, sfmt(r.perMin)));
      })))));
    gcard.append(h('p', { class: 'note' }, `Per minute: ${g.source}.`));
  }
  for (const r of p.growth?.retention || []) {
    // Sites whose timers rose in step with these: the growth is said once.
    const step = (r.in_step_with || []).slice(0, 3).flatMap((x, i, all) => [i === 0 ? ', which rose in step with those of ' : i + 1 < all.length ? ', ' : ' and ',
      h('span', { class: 'mono' }, whereOf(x.frames))]);
    const more = (r.in_step_with || []).length - 3;
    gcard.append(h('p', { class: 'retention' }, `The ${againstName(r.against)} grows with the live ${r.kind === 'js' ? 'JS ' : ''}timers of `,
      h('span', { class: 'mono' }, whereOf(r.frames)), ...step, more > 0 ? ` and ${plural(more, 'more site')}` : '',
      `: about ${bytes(r.bytes_per_timer)} more with each live timer${step.length ? ' of the first' : ''} (${r.live} live, R\u00b2 ${num(r.r2)?.toFixed(2)} over ${plural(r.points, 'point')})` +
      (step.length ? '; which of them holds it, no fit can tell.' : '.')));
  }
  cards.push(gcard);

  const sm = p.summary || {};
  const fig = h('dl', { class: 'figures' });
  const add = (k, val, title) => fig.append(h('dt', null, k), h('dd', { title }, val));
  add('live now', `${bytes(sm.live_bytes)} in ${plural(sm.live_blocks, 'block')}`, exactBytes(sm.live_bytes));
  add('peak live', bytes(sm.peak_live_bytes), exactBytes(sm.peak_live_bytes));
  add('allocations', group(sm.allocations));
  add('frees', group(sm.frees));
  const timersLive = (p.timers || []).reduce((a, x) => a + (x.live || 0), 0);
  add('live timers', group(timersLive));
  if (sm.drops) add('not recorded', Object.entries(sm.drops).map(([k, n]) => `${k.replace(/_/g, ' ')}: ${group(n)}`).join(', '));
  const totals = h('div', { class: 'card' }, h('h3', null, 'Totals'), fig);
  const ex = extraOf(p, pi);
  if (ex && ex.sites > sites.length) {
    const shown = sites.filter((x) => x.kind !== 'mapping').reduce((a, x) => a + x.live_bytes, 0);
    const rest = (sm.live_bytes || 0) - shown;
    totals.append(h('p', { class: 'warn', id: 'cut-note' }, `This page holds the top ${group(sites.length)} of ${group(ex.sites)} sites (--top ${EXTRA.top}): the table and the flame graph show those alone.` +
      (rest > 0 ? ` The allocation sites left out hold ${bytes(rest)}.` : '')));
  }
  cards.push(totals);
  return h('section', { id: 'summary', 'aria-labelledby': 'summary-h' }, h('h2', { id: 'summary-h' }, 'Summary'), h('div', { class: 'cards' }, cards));
}

// --------------------------------------------------------------- timeline

function timelineSection(p, pi) {
  const sec = h('section', { id: 'timeline', 'aria-labelledby': 'timeline-h' }, h('h2', { id: 'timeline-h' }, 'Timeline'));
  const tl = p.timeline || [];
  if (!tl.length) {
    sec.append(h('p', { class: 'note' }, 'No timeline in this trace: the process never took a tick.'));
    return sec;
  }
  const ps = procState[pi];
  const t = tl.map((x) => x.t);
  const small = window.innerWidth < 700;
  // node's JS timeline (the page's data: the JSON report has none), on the
  // same axis as the trace's, as `leaktrace timeline` draws it.
  const jtl = (extraOf(p, pi)?.js_timeline || []).filter((x) => num(x.t) !== null);
  const jt = jtl.map((x) => x.t);
  const js = (key, name, color, get, more) => (jtl.length ? [{ key, name, color, t: jt, values: jtl.map(get), ...more }] : []);
  const panels = [
    { title: jtl.length ? 'RSS, mapped bytes and JS heap' : 'RSS and mapped bytes', unit: 'bytes', height: small ? 110 : 150, series: [
      { key: 'rss', name: 'RSS', color: 'var(--rss)', values: tl.map((x) => x.rss) },
      { key: 'mapped', name: 'mapped', color: 'var(--mapped)', values: tl.map((x) => x.mapped_bytes) },
      ...js('js_heap_used', 'JS heap used', 'var(--heap)', (x) => x.heap_used),
      ...js('js_heap_total', 'JS heap total', 'var(--heap)', (x) => x.heap_total, { dash: true, off: true })] },
    { title: 'live bytes of malloc', unit: 'bytes', height: small ? 100 : 130, series: [
      { key: 'malloc', name: 'live malloc', color: 'var(--malloc)', values: tl.map((x) => x.live_bytes) }] },
    { title: jtl.length ? 'live timers' : 'live OS timers', unit: 'count', height: small ? 60 : jtl.length ? 90 : 70, series: [
      { key: 'timers', name: 'live OS timers', color: 'var(--timers)', values: tl.map((x) => x.timers_live) },
      ...js('js_timers', 'live JS timers', 'var(--js-timers)', (x) => x.timers_live)] },
  ];
  const marks = (p.snapshots || []).map((x) => ({ t: x.t, name: x.name }));
  const chart = lineChart({
    t, panels, marks, interactive: true, selection: ps.window,
    label: `RSS and mapped bytes${jtl.length ? ', the JS heap' : ''}, live bytes of malloc and live ${jtl.length ? 'OS and JS' : 'OS'} timers over time; drag, or Shift and the arrow keys, to select a window`,
    snapshotAt: (i) => tl[i].snapshot,
    onSelect: (range) => {
      ps.window = range;
      refreshWindow(p, pi);
      refreshSites(p, pi);
    },
  });
  charts.add(chart);
  const legend = h('div', { class: 'legend' }, panels.flatMap((pn) => pn.series).map((ser) => h('label', { 'data-series': ser.key },
    h('input', { type: 'checkbox', checked: !ser.off, onchange: (ev) => chart.toggle(ser.key, !ev.target.checked) }), ' ',
    h('span', { class: `sw${ser.dash ? ' dashed' : ''}`, style: `background:${ser.color}` }), ser.name)));
  sec.append(legend, chart.el,
    h('p', { class: 'note no-print' }, 'Hover for the values; drag across the chart (or focus it and use Shift with the arrow keys) to select a time window: the table of sites then shows what grew inside it. Dashed lines are snapshots.'),
    h('div', { id: 'window-note' }));
  procState[pi].chart = chart;
  queueMicrotask(() => refreshWindow(p, pi));
  return sec;
}

function refreshWindow(p, pi) {
  const box = document.getElementById('window-note');
  if (!box) return;
  const w = procState[pi].window;
  if (!w) {
    box.replaceChildren();
    return;
  }
  const n = windowGrowth(p, w).filter((x) => x > 0).length;
  box.replaceChildren(h('div', { class: 'window', role: 'status' }, `Window ${seconds(w[0])} to ${seconds(w[1])}: ${plural(n, 'site')} grew inside it. `,
    h('button', {
      id: 'clear-window',
      onclick: () => {
        procState[pi].window = null;
        procState[pi].chart?.setSelection(null);
        refreshWindow(p, pi);
        refreshSites(p, pi);
      },
    }, 'Clear the window')));
}

/** Per site, its growth between the first point at or after w[0] and the
 * last at or before w[1]; null when the window holds fewer than 2 points. */
function windowGrowth(p, w) {
  const tl = p.timeline || [];
  let i0 = tl.findIndex((x) => x.t >= w[0] - 1e-9);
  let i1 = -1;
  for (let i = tl.length - 1; i >= 0; i--)
    if (tl[i].t <= w[1] + 1e-9) {
      i1 = i;
      break;
    }
  return (p.sites || []).map((x) => {
    const hs = x.history || [];
    if (i0 < 0 || i1 <= i0 || !hs[i0] || !hs[i1]) return null;
    return hs[i1].bytes - hs[i0].bytes;
  });
}

// ------------------------------------------------------------------ sites

const SITE_COLUMNS = [
  { key: 'rank', label: '#', num: true, cls: 'rank', title: 'the report\u2019s order: leaks first, then by live bytes' },
  { key: 'verdict', label: 'verdict' },
  { key: 'growth', label: 'growth', num: true },
  { key: 'live', label: 'live', num: true },
  { key: 'blocks', label: 'blocks', num: true, wide: true },
  { key: 'allocs', label: 'allocations', num: true, wide: true },
  { key: 'where', label: 'where', sortable: false },
];

function siteKey(x, col, i, wg) {
  switch (col) {
    case 'verdict': return VERDICT_ORDER[x.verdict] ?? 9;
    case 'growth': return wg ? wg[i] ?? -Infinity : x.growth_bytes ?? -Infinity;
    case 'live': return x.live_bytes;
    case 'blocks': return x.live_blocks;
    case 'allocs': return x.allocations;
    default: return i;
  }
}

function siteMatches(x, words) {
  if (!words.length) return true;
  const hay = [x.kind, x.verdict, ...(x.frames || []).flatMap((f) => [f.function, f.file, f.module, f.file && f.line ? `${basename(f.file)}:${f.line}` : null])]
    .filter(Boolean).join('\n').toLowerCase();
  return words.every((w) => hay.includes(w));
}

function sitesSection(p, pi) {
  const ps = procState[pi];
  const sec = h('section', { id: 'sites', 'aria-labelledby': 'sites-h' }, h('h2', { id: 'sites-h' }, 'Sites'));
  const filter = h('input', {
    type: 'search', id: 'site-filter', placeholder: 'function, file or module', value: ps.filter, 'aria-label': 'filter sites by function, file or module',
    oninput: debounce((ev) => {
      ps.filter = ev.target.value;
      refreshSites(p, pi);
    }, 120),
  });
  const verdict = h('select', {
    id: 'verdict-filter', 'aria-label': 'show sites of one verdict',
    onchange: (ev) => {
      ps.verdict = ev.target.value;
      refreshSites(p, pi);
    },
  }, [['', 'every verdict'], ['leak', 'leaks'], ['cache', 'caches'], ['transient', 'transient'], ['unclear', 'unclear'], ['mapping', 'mappings only']]
    .map(([v, text]) => h('option', { value: v, selected: ps.verdict === v }, text)));
  sec.append(h('div', { class: 'controls' }, h('label', { for: 'site-filter' }, 'Filter'), filter, verdict, h('span', { id: 'site-count', class: 'note', role: 'status' })));
  sec.append(h('div', { class: 'scroll' }, h('table', { class: 'data', id: 'site-table' }, h('thead'), h('tbody'))));
  queueMicrotask(() => refreshSites(p, pi));
  return sec;
}

function refreshSites(p, pi) {
  const table = document.getElementById('site-table');
  if (!table) return;
  const ps = procState[pi];
  const sites = p.sites || [];
  const wg = ps.window ? windowGrowth(p, ps.window) : null;
  const words = ps.filter.toLowerCase().split(/\s+/).filter(Boolean);
  let rows = sites.map((x, i) => i).filter((i) => siteMatches(sites[i], words) &&
    (!ps.verdict || (ps.verdict === 'mapping' ? sites[i].kind === 'mapping' : sites[i].verdict === ps.verdict)) &&
    (!wg || (wg[i] !== null && wg[i] > 0)));
  const { key, dir } = wg && ps.sort.key === 'rank' ? { key: 'growth', dir: -1 } : ps.sort;
  rows.sort((a, b) => {
    const ka = siteKey(sites[a], key, a, wg), kb = siteKey(sites[b], key, b, wg);
    return (ka < kb ? -1 : ka > kb ? 1 : 0) * dir || a - b;
  });

  const head = h('tr', null, SITE_COLUMNS.map((c) => {
    const sorted = key === c.key;
    const th = h('th', {
      class: [c.num ? 'num' : '', c.wide ? 'wide' : '', c.cls || ''].join(' ').trim() || null, scope: 'col', title: c.title,
      'aria-sort': sorted ? (dir < 0 ? 'descending' : 'ascending') : null,
    });
    const label = c.key === 'growth' && wg ? 'growth in window' : c.label;
    if (c.sortable === false) th.append(label);
    else th.append(h('button', {
      'data-sort': c.key,
      onclick: () => {
        const numeric = c.key !== 'rank' && c.key !== 'verdict';
        ps.sort = { key: c.key, dir: key === c.key ? -dir : numeric ? -1 : 1 };
        refreshSites(p, pi);
        document.querySelector(`#site-table th button[data-sort="${c.key}"]`)?.focus();
      },
    }, label));
    return th;
  }));
  table.tHead.replaceChildren(head);

  const body = h('tbody');
  for (const i of rows) {
    const x = sites[i];
    const open = ps.open.has(i);
    const perMin = num(x.growth_bytes_per_s) !== null ? x.growth_bytes_per_s * 60 : null;
    const tr = h('tr', {
      class: 'row', id: `site-${pi}-${i}`, tabindex: 0, 'aria-expanded': open ? 'true' : 'false', 'data-rank': i + 1,
      onclick: () => toggleSite(p, pi, i),
      onkeydown: (ev) => {
        if (ev.key === 'Enter' || ev.key === ' ') {
          ev.preventDefault();
          toggleSite(p, pi, i);
        } else if (ev.key === 'ArrowDown' || ev.key === 'ArrowUp') {
          ev.preventDefault();
          const all = [...table.querySelectorAll('tr.row')];
          all[all.indexOf(tr) + (ev.key === 'ArrowDown' ? 1 : -1)]?.focus();
        }
      },
    },
    h('td', { class: 'num rank' }, i + 1),
    h('td', null, verdictBadge(x)),
    h('td', { class: 'num growth' }, wg ? h('span', { class: 'up', title: exactBytes(wg[i]) }, signedBytes(wg[i]))
      : [h('span', { title: exactBytes(x.growth_bytes) }, x.growth_bytes === null ? '?' : signedBytes(x.growth_bytes)),
        perMin !== null ? h('span', { class: 'sub' }, `${signedBytes(perMin)}/min`) : null]),
    h('td', { class: 'num live', title: exactBytes(x.live_bytes) }, bytes(x.live_bytes)),
    h('td', { class: 'num wide' }, group(x.live_blocks)),
    h('td', { class: 'num wide' }, group(x.allocations)),
    whereCell(x.frames, x.kind === 'mapping' ? 'anonymous mapping' : null, null, x.kind === 'mapping' ? 'mapping' : true));
    body.append(tr);
    if (open) body.append(siteDetail(p, pi, i));
  }
  table.tBodies[0].replaceWith(body);
  for (const c of charts) if (c.el && table.contains(c.el)) c.redraw();
  const count = document.getElementById('site-count');
  if (count) count.textContent = rows.length === sites.length ? plural(sites.length, 'site') : `${rows.length} of ${plural(sites.length, 'site')}`;
  if (!rows.length)
    body.append(h('tr', null, h('td', { colspan: SITE_COLUMNS.length, class: 'note' }, sites.length ? 'No site matches.' : 'No live site.')));
}

/** Where a site or a timer was made: the function of its first frame (a
 * site's: of its application's JS frame, siteFrameIndex(), unless SITE is
 * 'mapping', V8's heap), and under it the file and line, and the module;
 * under a site's JS frame, its first. */
function whereCell(frames, what, kind, site) {
  const f = frames?.[site === true ? siteFrameIndex(frames) : 0];
  if (!f) return h('td', { class: 'where' }, what || '(no frames recorded)');
  return h('td', { class: 'where', title: frameLoc(f, true) || null }, h('span', { class: 'mono fn' }, frameName(f)), frameTags(f, kind),
    f.file ? h('span', { class: 'sub mono loc' }, frameLoc(f)) : null,
    f.module ? h('span', { class: 'sub mono mod' }, basename(f.module)) : null,
    site === true ? siteNative(frames) : null);
}

function verdictBadge(x) {
  const kind = x.kind === 'mapping' ? h('span', { class: 'tag', title: 'anonymous memory mapped by mmap or made accessible by mprotect' }, 'mapping') : null;
  if (!x.verdict) return [h('span', { class: 'badge none' }, '?'), kind];
  return [h('span', { class: `badge ${x.verdict}`, title: VERDICT_TITLE[x.verdict] }, x.verdict), kind];
}

function toggleSite(p, pi, i) {
  const ps = procState[pi];
  if (ps.open.has(i)) ps.open.delete(i);
  else ps.open.add(i);
  refreshSites(p, pi);
  document.getElementById(`site-${pi}-${i}`)?.focus();
}

/** From the summary: the site's row shown, opened, scrolled to. */
function openSite(pi, i) {
  const p = PROCS[pi];
  const ps = procState[pi];
  ps.filter = '';
  ps.verdict = '';
  const f = document.getElementById('site-filter');
  if (f) f.value = '';
  const v = document.getElementById('verdict-filter');
  if (v) v.value = '';
  ps.open.add(i);
  refreshSites(p, pi);
  const row = document.getElementById(`site-${pi}-${i}`);
  if (row) {
    row.scrollIntoView({ block: 'start' });
    row.focus({ preventScroll: true });
  }
}

function siteDetail(p, pi, i) {
  const x = p.sites[i];
  const facts = h('dl', { class: 'figures' });
  const add = (k, v) => facts.append(h('dt', null, k), h('dd', null, v));
  if (x.kind === 'mapping') {
    add('mapped now', `${exactBytes(x.live_bytes)} in ${plural(x.live_blocks, 'region')}`);
    add('calls that mapped', group(x.allocations));
    add('bytes they mapped', exactBytes(x.bytes_allocated));
  } else {
    add('live now', `${exactBytes(x.live_bytes)} in ${plural(x.live_blocks, 'block')}`);
    add('allocations', group(x.allocations));
    add('bytes allocated', exactBytes(x.bytes_allocated));
  }
  if (x.growth_bytes !== null && x.growth_bytes !== undefined) add('growth', `${signedBytes(x.growth_bytes)} (${exactBytes(x.growth_bytes)})`);
  if (num(x.growth_bytes_per_s) !== null) add('per minute', `${signedBytes(x.growth_bytes_per_s * 60)}/min`);
  if (num(x.growth_bytes_per_1k_allocations) !== null) add('per 1000 allocations', signedBytes(x.growth_bytes_per_1k_allocations));
  if (num(x.fit_r2) !== null) add('fit', `R\u00b2 ${x.fit_r2.toFixed(2)} over ${x.fit_axis}`);
  if (x.points !== undefined) add('points', group(x.points));

  const right = [h('h3', { class: 'sr-only' }, 'figures'), facts];
  const hist = x.history || [];
  if (hist.length) {
    const chart = lineChart({
      t: hist.map((pt) => pt.t), interactive: true,
      panels: [{ title: 'live bytes of this site', unit: 'bytes', height: 120, series: [
        { key: 'bytes', name: 'live bytes', color: x.verdict === 'leak' ? 'var(--leak)' : 'var(--accent)', values: hist.map((pt) => pt.bytes) }] }],
      marks: (p.snapshots || []).map((sn) => ({ t: sn.t, name: sn.name })),
      label: `live bytes of site ${i + 1} over time`,
    });
    charts.add(chart);
    right.unshift(h('div', { class: 'site-history' }, chart.el));
  }
  return h('tr', { class: 'detail', id: `detail-${pi}-${i}` }, h('td', { colspan: SITE_COLUMNS.length }, h('div', { class: 'detail-box' },
    x.reason ? h('p', { class: 'reason' }, verdictBadge(x), ' ', x.reason) : null,
    h('div', { class: 'detail-grid' },
      h('div', null, h('h3', { class: 'sr-only' }, 'stack'), stackList(x.frames || []),
        x.kind === 'mapping' ? h('p', { class: 'note' }, '(anonymous memory mapped here: mmap, or mprotect of a reservation)') : null),
      h('div', null, right)))));
}

// ------------------------------------------------------------ flame graph

/** The root of a stack whose outer frames were not recorded (its "stack_cut"). */
const STACK_CUT = { depth: '[outer frames cut at LEAKTRACE_DEPTH]', walk: '[outer frames not found by the unwinder]' };

/** The tree of live bytes: callers by function, the allocating frame by
 * function, file and line (as the folded stacks are), outermost at the top. */
function flameTree(sites) {
  const root = { name: 'all', value: 0, leak: 0, map: 0, js: false, kids: new Map(), depth: 0, parent: null };
  for (const x of sites) {
    const frames = [...(x.frames || [])].reverse();
    const names = frames.map((f, k) => {
      const inner = k === frames.length - 1;
      const loc = inner && f.file && f.line ? ` (${basename(f.file)}:${f.line})` : '';
      return { name: frameName(f) + loc, js: isJs(f) };
    });
    // A stack whose outer frames were not recorded hangs from a root that says so.
    if (x.stack_cut) names.unshift({ name: STACK_CUT[x.stack_cut] || '[outer frames not recorded]', js: false });
    if (x.kind === 'mapping') names.push({ name: '[anonymous mapping]', js: false });
    let node = root;
    const add = (n) => {
      n.value += x.live_bytes;
      if (x.verdict === 'leak') n.leak += x.live_bytes;
      if (x.kind === 'mapping') n.map += x.live_bytes;
    };
    add(root);
    for (const { name, js } of names) {
      let kid = node.kids.get(name);
      if (!kid) {
        kid = { name, value: 0, leak: 0, map: 0, js, kids: new Map(), depth: node.depth + 1, parent: node };
        node.kids.set(name, kid);
      }
      add(kid);
      node = kid;
    }
  }
  return root;
}

function flameColor(n) {
  if (n.map > n.value / 2) return 'hsl(210, 65%, 70%)';
  if (n.js) return 'hsl(130, 45%, 62%)';
  let hsh = 0;
  for (let i = 0; i < n.name.length; i++) hsh = (hsh * 31 + n.name.charCodeAt(i)) >>> 0;
  const vary = (hsh % 1000) / 1000;
  if (n.leak > n.value / 2) return `hsl(${0 + vary * 12}, ${68 + vary * 12}%, ${60 + vary * 8}%)`;
  return `hsl(${30 + vary * 25}, ${80 + vary * 10}%, ${60 + vary * 8}%)`;
}

function flameSection(p, pi) {
  const ps = procState[pi];
  const sec = h('section', { id: 'flame', 'aria-labelledby': 'flame-h' }, h('h2', { id: 'flame-h' }, 'Flame graph of live bytes'));
  const sites = (p.sites || []).filter((x) => x.live_bytes > 0);
  if (!sites.length) {
    sec.append(h('p', { class: 'note' }, 'No live bytes.'));
    return sec;
  }
  const root = flameTree(sites);
  const box = h('div', { class: 'flame chart' });
  const crumbs = h('div', { class: 'crumbs', id: 'flame-crumbs', role: 'status' });
  const info = h('div', { class: 'crumbs', id: 'flame-info', 'aria-hidden': 'true' }, '\u00a0');
  const search = h('input', {
    type: 'search', id: 'flame-search', placeholder: 'search frames', value: ps.search, 'aria-label': 'highlight frames whose name contains',
    oninput: debounce((ev) => {
      ps.search = ev.target.value;
      draw();
    }, 120),
  });
  const reset = h('button', {
    id: 'flame-reset',
    onclick: () => {
      ps.zoom = null;
      draw();
    },
  }, 'Reset zoom');
  sec.append(h('div', { class: 'controls' }, h('label', { for: 'flame-search' }, 'Search'), search, reset),
    crumbs, box, info,
    h('p', { class: 'note no-print' }, 'Callers above, allocating frames below, each as wide as the live bytes under it. Click a frame (or Enter on it) to zoom in; red: mostly leaks, blue: mappings, green: JavaScript.'));

  const pathOf = (n) => {
    const list = [];
    for (let q = n; q; q = q.parent) list.unshift(q);
    return list;
  };
  const find = (names) => {
    let n = root;
    for (const nm of names.slice(1)) {
      n = n.kids.get(nm);
      if (!n) return root;
    }
    return n;
  };

  function draw() {
    const focus = ps.zoom ? find(ps.zoom) : root;
    const width = Math.max(box.clientWidth || 800, 240);
    const rowH = 18;
    const want = ps.search.trim().toLowerCase();
    let maxDepth = 0, matched = 0;
    const items = [];
    // The focus's ancestors take the whole width; below it, by bytes.
    for (const a of pathOf(focus)) if (a !== focus) items.push({ n: a, x: 0, w: width, dim: true });
    const walk = (n, x, w) => {
      if (w < 0.5) return;
      items.push({ n, x, w, dim: false });
      maxDepth = Math.max(maxDepth, n.depth);
      let cx = x;
      for (const k of [...n.kids.values()].sort((a, b) => b.value - a.value)) {
        const kw = (k.value / n.value) * w;
        walk(k, cx, kw);
        cx += kw;
      }
    };
    walk(focus, 0, width);
    const hits = new Set();
    if (want) {
      const mark = (n, under) => {
        const hit = n.name.toLowerCase().includes(want);
        if (hit) hits.add(n);
        if (hit && !under) matched += n.value;
        for (const k of n.kids.values()) mark(k, under || hit);
      };
      mark(focus, false);
    }
    const height = (maxDepth + 1) * rowH + 2;
    const svgNode = s('svg', { viewBox: `0 0 ${width} ${height}`, height, role: 'group', 'aria-label': 'flame graph' });
    for (const it of items) {
      const n = it.n;
      const pct = ((n.value / root.value) * 100).toFixed(n.value / root.value < 0.01 ? 2 : 1);
      const label = `${n.name}: ${bytes(n.value)} live (${pct}%)`;
      const g = s('g', {
        class: `node${it.dim ? ' dim' : ''}${hits.has(n) ? ' hit' : ''}`, transform: `translate(${it.x.toFixed(2)},${n.depth * rowH})`,
        tabindex: it.w >= 30 ? 0 : null, role: 'button', 'aria-label': label, 'data-name': n.name,
        onclick: () => zoomTo(n),
        onkeydown: (ev) => {
          if (ev.key === 'Enter' || ev.key === ' ') {
            ev.preventDefault();
            zoomTo(n);
          }
        },
        onpointerenter: () => {
          info.textContent = label;
        },
        onpointerleave: () => {
          info.textContent = '\u00a0';
        },
      }, s('title', null, `${label}${n.leak ? `; ${bytes(n.leak)} in leaks` : ''}`),
      s('rect', { width: Math.max(0.5, it.w - 0.5).toFixed(2), height: rowH - 1, fill: flameColor(n), rx: 1.5 }));
      const chars = Math.floor((it.w - 6) / 6.6);
      if (chars >= 3) g.append(s('text', { x: 3, y: 13 }, n.name.length > chars ? n.name.slice(0, chars - 1) + '\u2026' : n.name));
      svgNode.append(g);
    }
    box.replaceChildren(svgNode);
    const where = focus === root ? 'all' : pathOf(focus).slice(1).map((q) => q.name).join(' \u203a ');
    crumbs.textContent = `${focus === root ? 'All' : 'Zoomed on ' + where}: ${bytes(focus.value)} live` +
      (want ? ` \u00b7 "${ps.search.trim()}" matches ${bytes(matched)} (${((matched / (focus.value || 1)) * 100).toFixed(1)}%)` : '');
    reset.disabled = focus === root;
  }

  function zoomTo(n) {
    ps.zoom = n.parent ? pathOf(n).map((q) => q.name) : null;
    draw();
    box.querySelector(`g.node[data-name="${CSS.escape(n.name)}"]:not(.dim)`)?.focus();
  }

  charts.add({ el: box, redraw: draw });
  return sec;
}

// ----------------------------------------------------------------- timers

const TIMER_KIND = { js: 'JS', timerfd: 'timerfd', posix: 'POSIX timer', itimer: 'setitimer', alarm: 'alarm' };

function framesKey(frames) {
  return JSON.stringify((frames || []).slice(0, 4).map((f) => [f.function, f.file, f.line, f.column ?? null]));
}

function timersSection(p, pi) {
  const sec = h('section', { id: 'timers', 'aria-labelledby': 'timers-h' }, h('h2', { id: 'timers-h' }, 'Live timers'));
  const timers = p.timers || [];
  if (!timers.length) {
    sec.append(h('p', { class: 'note' }, 'No timer was live at the end: every one made was cleared, or none was made.'));
    return sec;
  }
  // The bytes each timer keeps, where the report estimated them (growth).
  const estimates = !!p.growth;
  const retention = new Map((p.growth?.retention || []).map((r) => [`${r.kind}|${framesKey(r.frames)}`, r]));
  const columns = 7 + estimates;
  const table = h('table', { class: 'data', id: 'timer-table' },
    h('thead', null, h('tr', null, h('th', { class: 'num' }, '#'), h('th', null, 'kind'), h('th', { class: 'num' }, 'live'),
      h('th', { class: 'num wide' }, 'made'), h('th', null, 'repeats'), h('th', { class: 'num wide' }, 'oldest'),
      estimates ? h('th', { class: 'num', title: 'the JS heap\u2019s growth per live timer of this site' }, 'more per timer') : null,
      h('th', null, 'made at'))));
  const body = h('tbody');
  const open = new Set();
  const fill = () => {
    body.replaceChildren();
    timers.forEach((tm, i) => {
      const r = retention.get(`${tm.kind}|${framesKey(tm.frames)}`);
      const toggle = () => {
        if (open.has(i)) open.delete(i);
        else open.add(i);
        fill();
        document.getElementById(`timer-${pi}-${i}`)?.focus();
      };
      body.append(h('tr', {
        class: 'row', id: `timer-${pi}-${i}`, tabindex: 0, 'aria-expanded': open.has(i) ? 'true' : 'false', onclick: toggle,
        onkeydown: (ev) => {
          if (ev.key === 'Enter' || ev.key === ' ') {
            ev.preventDefault();
            toggle();
          }
        },
      },
      h('td', { class: 'num' }, i + 1),
      h('td', null, TIMER_KIND[tm.kind] || tm.kind, tm.inherited ? h('span', { class: 'tag', title: 'armed before exec: its creation was not seen' }, 'inherited') : null),
      h('td', { class: 'num' }, group(tm.live)),
      h('td', { class: 'num wide' }, group(tm.created)),
      h('td', null, tm.repeating ? `every ${seconds(tm.interval_ns / 1e9)}` : tm.armed === false ? 'not armed' : 'once'),
      h('td', { class: 'num wide' }, tm.oldest_age_s === null ? '?' : seconds(tm.oldest_age_s)),
      estimates ? h('td', { class: 'num', title: r ? `R\u00b2 ${num(r.r2)?.toFixed(2)} over ${plural(r.points, 'point')}, against the ${againstName(r.against)}` : null }, r ? `\u2248 ${bytes(r.bytes_per_timer)}` : '\u2014') : null,
      whereCell(tm.frames, tm.inherited ? 'armed before exec' : null, tm.kind)));
      if (open.has(i))
        body.append(h('tr', { class: 'detail' }, h('td', { colspan: columns }, h('div', { class: 'detail-box' },
          tm.frames?.length ? stackList(tm.frames, tm.kind) : h('p', { class: 'note' }, 'Its creation was not seen.')))));
    });
  };
  fill();
  table.append(body);
  const live = timers.reduce((a, x) => a + x.live, 0);
  const ex = extraOf(p, pi);
  sec.append(h('p', { class: 'note' }, `${plural(live, 'live timer')} from ${plural(timers.length, 'creation site')}${ex && ex.timers > timers.length ? ` (the top ${timers.length} of ${ex.timers} here)` : ''}: OS timers (timerfd, POSIX, setitimer, alarm) and, in node, JS timers.` +
    (estimates ? '' : ' (This report has no growth summary: no estimate of the bytes each timer keeps.)')),
  h('div', { class: 'scroll' }, table));
  return sec;
}

// ------------------------------------------------------- across processes

function acrossSection() {
  const sec = h('section', { id: 'across', 'aria-labelledby': 'across-h' }, h('h2', { id: 'across-h' }, 'Across processes'));
  const part = (title, list, isTimer) => {
    if (!Array.isArray(list) || !list.length) return null;
    const row = (x) => h('tr', null,
      h('td', { class: 'num', title: isTimer ? null : exactBytes(x.live_bytes) }, isTimer ? group(x.live) : bytes(x.live_bytes)),
      h('td', null, Array.isArray(x.pids) ? x.pids.join(', ') : x.processes ?? ''),
      h('td', { class: 'where' }, x.verdict ? [verdictBadge(x), ' '] : null, h('span', { class: 'mono' }, isTimer ? whereOf(x.frames) : siteWhereOf(x.frames, x.kind)),
        isTimer || x.kind === 'mapping' ? null : siteNative(x.frames)));
    const head = h('tr', null, h('th', { class: 'num' }, 'live'), h('th', null, 'processes'), h('th', null, 'where'));
    return [h('h3', null, title),
      h('div', { class: 'scroll' }, h('table', { class: 'data' }, h('thead', null, head), h('tbody', null, list.map(row))))];
  };
  const a = part('Sites', ACROSS.sites, false), b = part('Timers', ACROSS.timers, true);
  if (!a && !b) sec.append(h('p', { class: 'note' }, 'No site or timer shared by several processes.'));
  sec.append(a, b);
  return sec;
}

render();
