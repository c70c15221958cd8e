// leaktrace.js: the JS half of leaktrace for Node.js processes.
//
// JS timers never reach timerfd, setitimer or timer_create: libuv keeps its
// own heap, and node's calls into it cannot be interposed. So the preload
// (libleaktrace.so) has node load this module with NODE_OPTIONS=--require,
// and names in LEAKTRACE_JS_STATE the stem of this process's trace file.
// The module follows every live `Timeout` (setTimeout, setInterval, and what
// libraries and node build on them) through async_hooks, remembers where it
// was created, and writes the state, aggregated per site, to <stem>.js.json
// at every tick and once more at exit.
//
// Rules it lives by: it never throws into the application (an exception in
// an async hook would kill the process), never keeps the process alive,
// never writes to stdout, never touches the objects of the application, and
// does nothing at all unless LEAKTRACE_JS_STATE names this very process.
'use strict';

const fs = require('fs');
const path = require('path');

const TOOL = 'leaktrace-js';
const VERSION = 2; /* 2: timeline points with the heap figures and the live count of the top sites */
const MAX_SITES = 10000; /* aggregated sites kept; timers of further ones are counted as overflow */
const MAX_FRAMES = 32; /* frames kept per stack, after dropping node's own */
const CAPTURE_FRAMES = MAX_FRAMES + 8; /* node's timer and async_hooks frames come on top */
const PROBE_FRAMES = 8; /* those five, and three of the caller's */
const SCRIPT_CALLERS = 3; /* frames of a bundle's site's own script that tell its callers apart */
const VERIFY_EVERY = 64;
const SWEEP_MIN = 64; /* timers held, live or not, before a creation sweeps */
const DEEP = -1;
const TIMELINE_MAX = 256; /* samples kept; when full, every other one goes and the spacing doubles */
const TIMELINE_SITES = 16; /* sites whose live count a sample keeps: those with the most live timers */
const NODE_MODULES = '/node_modules/';
/*
 * Without LEAKTRACE_JS_GC, a process that ran this many ticks and ends by
 * process.exit() (a server stopped by its signal handler) gets a full
 * collection before its exit write: what it held at the end is then what
 * it retained, not garbage not collected yet (a server's Buffers of the
 * last requests, which `check` took for a leak). Not one that ends by
 * itself, its event loop empty: its module-level data is unreachable by
 * then, and a collection would take back what it held through its run. A
 * short script is spared the cost.
 */
const GC_AUTO_TICKS = 5;
let endedByItself = false; /* 'beforeExit' was emitted: the event loop emptied */

// The options: one list, from which the environment is read.
// [field, variable, default, parse (returns undefined for a bad value)]
const OPTIONS = [
  ['state', 'LEAKTRACE_JS_STATE', '', (v) => v],
  ['enabled', 'LEAKTRACE_JS', true, parseBool],
  ['tickMs', 'LEAKTRACE_TICK_MS', 1000, (v) => parseIntIn(v, 10, 3600000)],
  ['gc', 'LEAKTRACE_JS_GC', null, parseBool], /* null: auto, after GC_AUTO_TICKS ticks */
  ['quiet', 'LEAKTRACE_QUIET', false, parseBool],
];

function parseBool(v) {
  return v === '1' ? true : v === '0' ? false : undefined;
}

function parseIntIn(v, lo, hi) {
  if (!/^\d+$/.test(v)) return undefined;
  const n = Number(v);
  return n >= lo && n <= hi ? n : undefined;
}

let opt = null; /* the options, read once at load */
let tracer = null; /* the live state, or null when the module is inactive */
let failed = false;

/** One line on stderr, unless LEAKTRACE_QUIET=1. Callers say each thing once. */
function say(msg) {
  if (opt && opt.quiet) return;
  try {
    fs.writeSync(2, `leaktrace: ${msg}\n`);
  } catch {
    /* stderr closed: nothing to do */
  }
}

function readOptions(env) {
  const o = {};
  const bad = [];
  for (const [field, name, dflt, parse] of OPTIONS) {
    const raw = env[name];
    let v = raw === undefined || raw === '' ? dflt : parse(raw);
    if (v === undefined) {
      bad.push(`${name}=${raw}`);
      v = dflt;
    }
    o[field] = v;
  }
  return { o, bad };
}

/*
 * The stem names this process when its file name is leaktrace.<pid> or
 * leaktrace.<pid>.<n> (an exec'd image) with our pid. A child that inherited
 * its parent's variable without being traced itself sees another pid and
 * stays out. A stem of another form was set by hand and is taken as it is.
 */
function stemIsOurs(stem) {
  const m = /^leaktrace\.(\d+)(?:\.\d+)?$/.exec(path.basename(stem));
  return !m || Number(m[1]) === process.pid;
}

// ---------------------------------------------------------------------------
// Stacks and sites

/*
 * A site is where a timer was created: the first frame of the application
 * (not node's own, not under node_modules), or the first frame at all when
 * the application has none in the stack. Sites are interned by file, line
 * and column; the frames kept are those of the first stack seen there.
 */
class Site {
  constructor(key, frame, frames, callers) {
    this.key = key;
    this.function = frame.function;
    this.file = frame.file;
    this.line = frame.line;
    this.column = frame.column;
    this.frames = frames;
    /* What never changes is serialized once. `callers`: how many frames
     * after this one the key holds (siteKeyOf). */
    this.json = JSON.stringify({ function: frame.function, file: frame.file, line: frame.line, column: frame.column,
      callers })
      .slice(1, -1);
    this.framesJson = JSON.stringify(frames);
  }
}

/** A timer that its creator's chain gave to a root site (see inheritance below). */
class Chain {
  constructor(site, startMs) {
    this.site = site;
    this.startMs = startMs;
  }
}

/*
 * What the state file aggregates: all timers of one site, or, for inherited
 * timers, of one root site reached through one immediate site (`via`).
 */
class Entry {
  constructor(site, via) {
    this.site = site;
    this.via = via;
    this.created = 0;
    this.lastDelay = 0;
    this.lastRepeat = 0;
    /* Scratch for one write. */
    this.live = 0;
    this.liveRepeating = 0;
    this.unrefed = 0;
    this.oldest = Infinity;
  }
}

/* What a timer passes on to the timers armed from its callback. */
class Link {
  constructor(chain, first, fn, entry, steady) {
    this.chain = chain;
    this.first = first; /* where the timer was armed */
    this.fn = fn; /* and its callback */
    this.entry = entry;
    this.steady = steady; /* it re-armed its own parent's callback: so will its children */
  }
}

/** One live timer. `res` is node's Timeout, held until a sweep finds it gone. */
class Timer {
  constructor(res, entry, createdMs, first, chain, repeating, steady) {
    this.res = res;
    this.entry = entry;
    this.createdMs = createdMs;
    this.first = first; /* key of the innermost frame: tells a re-arm from its parent */
    this.chain = chain; /* root and start of the chain when inherited; made lazily for roots */
    this.repeating = repeating;
    this.steady = steady; /* an inherited re-arm of its parent's own callback */
    this.link = null; /* made when a timer or a promise is first armed from its callback */
  }
}

const isInternal = (file) => file.startsWith('node:') || file.startsWith('internal/');
/* The frames between node's Timeout and the hook: never a site. */
const isTimerMachinery = (file) =>
  file === 'node:internal/async_hooks' || file === 'node:internal/timers' || file === 'node:timers';

function fileOf(cs) {
  const file = cs.getFileName();
  if (file) return file;
  if (cs.isEval()) return cs.getScriptNameOrSourceURL() || '<eval>';
  return null; /* a builtin such as Array.prototype.forEach: no source line to show */
}

function frameOf(cs, file) {
  return {
    function: cs.getFunctionName() || '<anonymous>',
    file,
    line: cs.getLineNumber() || 0,
    column: cs.getColumnNumber() || 0,
  };
}

const keyOf = (cs, file) => `${file}:${cs.getLineNumber()}:${cs.getColumnNumber()}`;

/*
 * The key of the site whose frame is cs[at] (-1: none), and how many frames
 * after it the key holds. In a bundle the application and its packages are
 * one script, and cs[at] may be a package's line, the same for every
 * caller: in a script that names a source map, the frames right after it
 * in the same script (up to SCRIPT_CALLERS, as far as the stack taken
 * goes) are part of the key, so that each caller keeps its own stack, in
 * which the analyzer, reading the map, finds the application's frame
 * (never further than those frames). Elsewhere the key is the frame's
 * alone, as the timeline's sites are.
 */
function siteKeyOf(cs, at, atKey) {
  if (at < 0) return { key: atKey, callers: 0 };
  const file = fileOf(cs[at]);
  if (!hasSourceMap(file)) return { key: atKey, callers: 0 };
  let key = atKey, callers = 0;
  for (let i = at + 1; i < cs.length && callers < SCRIPT_CALLERS && fileOf(cs[i]) === file; i++, callers++)
    key += `<${cs[i].getLineNumber()}:${cs[i].getColumnNumber()}`;
  return { key, callers };
}

/* Whether a script's last line names its source map, read once per script. */
const withMap = new Map();
function hasSourceMap(file) {
  let has = withMap.get(file);
  if (has !== undefined) return has;
  has = false;
  try {
    const p = file.startsWith('file:') ? require('url').fileURLToPath(file) : file;
    if (path.isAbsolute(p)) has = lastLineNamesMap(p);
  } catch {
    has = false; /* gone, unreadable: as one without */
  }
  if (withMap.size < MAX_SITES) withMap.set(file, has);
  return has;
}

/* Reads backwards, 64 KiB at a time (at most 64 MiB: an inline map is one long line), to the last line. */
function lastLineNamesMap(p) {
  const fd = fs.openSync(p, 'r');
  try {
    const buf = Buffer.allocUnsafe(65536);
    let end = fs.fstatSync(fd).size, seen = false;
    for (let read = 0; end > 0 && read < 64 << 20;) {
      const start = Math.max(0, end - buf.length);
      const n = fs.readSync(fd, buf, 0, end - start, start);
      for (let i = n - 1; i >= 0; i--) {
        if (!seen) seen = buf[i] > 32;
        else if (buf[i] === 10) return commentAt(fd, start + i + 1);
      }
      read += n;
      end = start;
    }
    return seen && end === 0 && commentAt(fd, 0);
  } finally {
    fs.closeSync(fd);
  }
}

function commentAt(fd, at) {
  const b = Buffer.alloc(64);
  const n = fs.readSync(fd, b, 0, b.length, at);
  return /^[ \t]*\/\/[#@][ \t]sourceMappingURL=/.test(b.toString('latin1', 0, n));
}

const structured = (_, callsites) => callsites;
const hasOwn = (o, k) => Object.prototype.hasOwnProperty.call(o, k);

/*
 * The call sites of the code that created the current resource, above `above`
 * (the hook). Error.prepareStackTrace and Error.stackTraceLimit are the
 * application's: they are set only for the capture and restored at once, and
 * `.stack` is read before restoring, because V8 formats it lazily with
 * whatever prepareStackTrace is installed when it is first read.
 */
/*
 * Under the preload, which records every malloc with its stack: V8
 * allocates dozens of blocks as it walks the stack for a capture, each
 * walked again by the preload (60 µs a timer instead of 15). The module
 * says when it captures, through the environment, whose setenv the
 * preload hooks and keeps the variable out of (LEAKTRACE_JS_BUSY); what V8
 * allocates then is not recorded. About 1.4 µs for the two.
 */
let busyMarks = false; /* the preload said it listens (LEAKTRACE_JS_PRELOAD) */

function busy(on) {
  if (busyMarks) process.env.LEAKTRACE_JS_BUSY = on ? '1' : '0';
}

function callsites(above, frames) {
  const ownLimit = hasOwn(Error, 'stackTraceLimit');
  const ownPrepare = hasOwn(Error, 'prepareStackTrace');
  const limit = Error.stackTraceLimit;
  const prepare = Error.prepareStackTrace;
  try {
    Error.stackTraceLimit = frames;
    Error.prepareStackTrace = structured;
    const holder = {};
    Error.captureStackTrace(holder, above);
    const cs = holder.stack;
    return Array.isArray(cs) ? cs : [];
  } finally {
    /* As they were, down to whether the property was there at all. */
    if (ownPrepare) Error.prepareStackTrace = prepare;
    else delete Error.prepareStackTrace;
    if (ownLimit) Error.stackTraceLimit = limit;
    else delete Error.stackTraceLimit;
  }
}

/*
 * Where the frames of interest are in `cs`: the first one of the program
 * (not node's), the first one of the application (not under node_modules
 * either), and the first of node's own below the timer machinery; -1 for none.
 */
function scan(cs) {
  let first = -1, app = -1, internal = -1;
  for (let i = 0; i < cs.length; i++) {
    const file = fileOf(cs[i]);
    if (file === null || file === __filename) continue;
    if (isInternal(file)) {
      if (internal < 0 && !isTimerMachinery(file)) internal = i;
      continue;
    }
    if (first < 0) first = i;
    if (!file.includes(NODE_MODULES)) {
      app = i;
      break;
    }
  }
  return { first, app, internal };
}

/* The keys of node's frames seen by a probe, from the first one past the timer machinery. */
function internalSignature(cs, from) {
  let sig = '';
  for (let i = from < 0 ? cs.length : from; i < cs.length; i++) {
    const file = fileOf(cs[i]);
    if (file !== null) sig += `${keyOf(cs[i], file)}\n`;
  }
  return sig;
}

// ---------------------------------------------------------------------------
// The tracer

class Tracer {
  constructor(stem, o) {
    this.file = `${stem}.js.json`;
    this.opt = o;
    this.startMs = Date.now();
    this.followingSince = null; /* when timers were first followed: null while paused */
    this.live = new Map(); /* asyncId -> Timer, and timers gone since the last sweep */
    this.sweepAt = SWEEP_MIN; /* live's size that makes onTimeout() sweep */
    this.exiting = false; /* set at the exit write: see isGone() */
    this.carry = new WeakMap(); /* a promise, tick or immediate -> the Link it continues */
    this.carried = false; /* carry was ever set */
    this.sites = new Map(); /* "file:line:column" -> Site */
    this.internalProbes = new Map(); /* probe of node's frames only -> times taken as is, or DEEP */
    this.entries = new Map(); /* site key, or root key + via key -> Entry */
    this.overflow = new Entry(null, null);
    this.timersCreated = 0;
    this.asyncIdSymbol = null;
    this.refedSymbol = null;
    this.unrefKinds = new Map(); /* callback name of node's unref'd timers -> Known, or DEEP */
    this.timeline = [];
    this.timelineStep = 1;
    this.ticks = 0;
    this.tickCount = 0; /* onTick()s */
    this.gcFn = null;
    this.writeFailed = false;
    this.ticked = false; /* a tick has written the state: node:v8 may be loaded */
    this.maps = []; /* kept source maps, as JSON text (keepMaps) */
    this.mapsExamined = new Set(); /* modules whose map was looked for */
    this.mapsSeen = 0; /* modules loaded at the last look */
    this.mapsFailed = false;
  }

  /*
   * Node arms timers of its own (keep-alive, socket timeouts) from deep
   * stacks of its own code. A probe that saw only node's frames, and whose
   * whole stack had no frame of the program the last time, is taken at its
   * word, and checked again once in VERIFY_EVERY; one that did lead to the
   * program is always walked whole.
   */
  mustWalk(sig) {
    const n = this.internalProbes.get(sig);
    if (n === undefined || n === DEEP) return true;
    this.internalProbes.set(sig, n + 1);
    return (n + 1) % VERIFY_EVERY === 0;
  }

  walked(sig, reachesProgram) {
    if (reachesProgram) this.internalProbes.set(sig, DEEP);
    else if (!this.internalProbes.has(sig) && this.internalProbes.size < MAX_SITES) this.internalProbes.set(sig, 0);
  }

  /*
   * What the code running now continues: the link that the promise, tick
   * or immediate whose callback it is carries, or that of the tracked timer
   * whose callback it is (node runs it under the timer's own async id).
   * Every promise made while a timer lives asks: the resource and the
   * WeakMap are looked at only once something was carried, and the id is
   * a number that node keeps at hand. An `await` with a timer live cost
   * 2.5 k instructions more than under an empty async hook when the
   * resource was looked at first, 1.1 k now (callgrind, 220 k awaits).
   */
  linkOfCurrent() {
    if (this.carried) {
      const res = executionAsyncResource();
      if (res !== null && (typeof res === 'object' || typeof res === 'function')) {
        const link = this.carry.get(res);
        if (link !== undefined) return link;
      }
    }
    return this.linkOf(executionAsyncId());
  }

  /* The link of the tracked timer of async id `id`. */
  linkOf(id) {
    const t = this.live.get(id);
    if (t === undefined || this.isGone(id, t.res)) return undefined;
    if (t.link === null) {
      if (t.chain === null) {
        if (t.entry.site === null) return undefined; /* a site we could not keep */
        t.chain = new Chain(t.entry.site, t.createdMs);
      }
      t.link = new Link(t.chain, t.first, t.res._onTimeout, t.entry, t.steady);
    }
    return t.link;
  }

  /*
   * Interns the site whose frame is cs[at] (-1: none) under `key` and returns
   * it, or null when there are too many sites already.
   */
  siteOf(cs, at, key, callers) {
    let site = this.sites.get(key);
    if (site !== undefined) return site;
    if (this.sites.size >= 2 * MAX_SITES) return null;
    const frames = [];
    let self = null;
    for (let i = 0; i < cs.length && frames.length < MAX_FRAMES; i++) {
      const file = fileOf(cs[i]);
      if (file === null || file === __filename || isInternal(file)) continue;
      const f = frameOf(cs[i], file);
      if (i === at) self = f;
      frames.push(f);
    }
    if (self === null) {
      /* All of node's own: keep its frames, less the timer machinery. */
      for (let i = at; i >= 0 && i < cs.length && frames.length < MAX_FRAMES; i++) {
        const file = fileOf(cs[i]);
        if (file !== null && file !== __filename) frames.push(frameOf(cs[i], file));
      }
      self = frames[0] || { function: '<unknown>', file: '<unknown>', line: 0, column: 0 };
    }
    site = new Site(key, self, frames, callers);
    this.sites.set(key, site);
    return site;
  }

  entryOf(key, site, via) {
    let e = this.entries.get(key);
    if (e !== undefined) return e;
    if (site === null || this.entries.size >= MAX_SITES) return this.overflow;
    e = new Entry(site, via);
    this.entries.set(key, e);
    return e;
  }

  /*
   * A new Timeout. Its site comes from its creation stack. When it is created
   * while a tracked timer's callback runs (or a promise, tick or immediate
   * that continues one), and its own stack holds no application frame, or it
   * re-arms its parent from the same line, it inherits the root site of that
   * chain: jsdom's window.setInterval arms a fresh node setTimeout from inside
   * the previous one's callback at every tick, and only the chain's first
   * timer was created from the application's line.
   */
  onTimeout(asyncId, triggerAsyncId, res) {
    const now = Date.now();
    if (this.live.size >= this.sweepAt) this.sweep();
    if (this.asyncIdSymbol === null)
      this.asyncIdSymbol = Object.getOwnPropertySymbols(res).find((s) => s.description === 'asyncId') || undefined;
    let link = this.linkOf(triggerAsyncId);
    if (link === undefined) link = this.linkOfCurrent();
    const fn = res._onTimeout;
    this.timersCreated++;
    if (link !== undefined && link.steady && link.fn === fn) {
      /*
       * A chain that re-arms its own callback, past its first re-arm: the
       * same line again (a polling loop, setTimeout(tick, 0) and the like).
       * Its stack is not taken again: that is what a timer costs.
       */
      const e = link.entry;
      e.created++;
      e.lastDelay = e.lastRepeat = res._idleTimeout;
      this.live.set(asyncId, new Timer(res, e, now, link.first, link.chain, true, true));
      return;
    }

    /*
     * A timer node arms for itself unref'd (setUnrefTimeout: socket
     * timeouts, the http server's keep-alive after every response; a
     * user's timers are made ref'd, unref() comes later): one whose kind
     * (its callback's name) had no frame of the program the last time is
     * taken at its word without a stack, and checked again once in
     * VERIFY_EVERY, as the probes below are. The stack was most of what
     * the module cost a server.
     */
    const unrefKind = link === undefined && this.isUnrefd(res) ? `${fn && fn.name}` : null;
    if (unrefKind !== null) {
      const k = this.unrefKinds.get(unrefKind);
      if (k !== undefined && k !== DEEP && ++k.seen % VERIFY_EVERY !== 0) {
        k.entry.created++;
        k.entry.lastDelay = res._idleTimeout;
        this.live.set(asyncId, new Timer(res, k.entry, now, k.first, null, false, false));
        return;
      }
    }

    /*
     * Walking the stack is what a timer costs: V8 rebuilds the inlined
     * frames of every optimized frame it passes from deoptimization data,
     * ten microseconds and more for the caller's frame in a hot server. So a
     * short stack is taken first, and the whole one only when the site is
     * new or lies deeper.
     */
    busy(true);
    let cs = callsites(hookInit, PROBE_FRAMES);
    let s = scan(cs);
    if (s.app < 0 && cs.length >= PROBE_FRAMES) {
      const sig = s.first < 0 ? internalSignature(cs, s.internal) : null;
      if (sig === null || this.mustWalk(sig)) {
        cs = callsites(hookInit, CAPTURE_FRAMES);
        s = scan(cs);
        if (sig !== null) this.walked(sig, s.first >= 0);
      }
    }
    const { first, app } = s;
    const at = app >= 0 ? app : first >= 0 ? first : s.internal;
    const atKey = at >= 0 ? keyOf(cs[at], fileOf(cs[at])) : '<unknown>';
    const { key: siteKey, callers } = siteKeyOf(cs, at, atKey);
    const firstKey = first >= 0 ? (first === at ? atKey : keyOf(cs[first], fileOf(cs[first]))) : atKey;
    let site = this.sites.get(siteKey);
    if (site === undefined) {
      /* The whole stack from the same point: the indexes found stay valid. */
      if (cs.length >= PROBE_FRAMES && cs.length < CAPTURE_FRAMES) cs = callsites(hookInit, CAPTURE_FRAMES);
      site = this.siteOf(cs, at, siteKey, callers);
    }
    busy(false);

    /*
     * Armed again from the line that armed the timer whose callback runs
     * (jsdom makes a new closure each time), or with the same callback.
     */
    const sameFn = link !== undefined && link.fn === fn;
    const rearm = sameFn || (link !== undefined && link.first === firstKey);
    const repeating = res._repeat != null || rearm;
    let entry;
    let chain = null;
    if (site === null) {
      entry = this.overflow;
    } else if (link !== undefined && (app < 0 || rearm)) {
      chain = link.chain;
      entry = this.entryOf(`${chain.site.key}\0${siteKey}`, chain.site, site);
    } else {
      entry = this.entryOf(siteKey, site, null);
    }
    entry.created++;
    entry.lastDelay = res._idleTimeout;
    if (repeating) entry.lastRepeat = res._repeat != null ? res._repeat : res._idleTimeout;
    if (unrefKind !== null) this.knownUnref(unrefKind, first < 0 && !repeating && entry !== this.overflow ? entry : null, firstKey);
    const steady = sameFn && chain !== null && entry !== this.overflow;
    this.live.set(asyncId, new Timer(res, entry, now, firstKey, chain, repeating, steady));
  }

  /* Whether node made the Timeout unref'd (setUnrefTimeout), as it was when created. */
  isUnrefd(res) {
    if (this.refedSymbol === null)
      this.refedSymbol = Object.getOwnPropertySymbols(res).find((s) => s.description === 'refed') || undefined;
    return this.refedSymbol !== undefined && res[this.refedSymbol] === false;
  }

  /* What the stack of an unref'd timer of this kind showed: its entry when no frame was the program's, else DEEP for good. */
  knownUnref(kind, entry, first) {
    const k = this.unrefKinds.get(kind);
    if (entry === null) this.unrefKinds.set(kind, DEEP);
    else if (k === undefined && this.unrefKinds.size < MAX_SITES) this.unrefKinds.set(kind, { entry, first, seen: 0 });
  }

  /* A promise, tick, immediate or microtask made while a chain runs continues it. */
  onDeferred(triggerAsyncId, res) {
    let link = this.linkOfCurrent();
    if (link === undefined) link = this.linkOf(triggerAsyncId);
    if (link !== undefined) {
      this.carry.set(res, link);
      this.carried = true;
    }
  }

  /*
   * There is no destroy hook: with one, node tracks the destruction of
   * every promise (a weak handle each), and an `await` cost 1.8 µs
   * instead of 0.6 (0.2 untraced; node/bench). The Timeout itself tells whether it is gone: destroyed
   * (cleared, or fired once and not re-armed), or re-armed under a new id
   * by refresh() after it fired. The promises, ticks and immediates that
   * carry a chain are keys of a WeakMap, gone with them.
   */
  isGone(id, res) {
    if (res._destroyed) return true;
    /*
     * At the exit, fired and running its callback: node took it out of its
     * list before the call and marks it destroyed after. A one-shot timer
     * whose callback ends the process (`setTimeout(() => process.exit(0))`)
     * is no live timer; an interval goes back in the list when it returns.
     * (Not before the exit: a timer that re-arms from its callback hands
     * its chain on from there.)
     */
    if (this.exiting && res._idleNext === null && res._idlePrev === null && !res._repeat) return true;
    if (this.asyncIdSymbol === null)
      this.asyncIdSymbol = Object.getOwnPropertySymbols(res).find((s) => s.description === 'asyncId') || undefined;
    return this.asyncIdSymbol !== undefined && res[this.asyncIdSymbol] !== id;
  }

  /*
   * Drops the timers gone. Every write sweeps (aggregate); so does the
   * creation of a timer when the map has doubled since the last sweep, so
   * that a server arming thousands of timers a second holds the Timeouts
   * (and what their callbacks reach) of at most as many dead timers as
   * live ones, SWEEP_MIN at least, between two writes.
   */
  sweep() {
    for (const [id, t] of this.live) if (this.isGone(id, t.res)) this.live.delete(id);
    this.sweepAt = Math.max(SWEEP_MIN, 2 * this.live.size);
  }

  /* Drops the timers already gone and adds up the others per entry. */
  aggregate() {
    for (const e of [...this.entries.values(), this.overflow]) {
      e.live = e.liveRepeating = e.unrefed = 0;
      e.oldest = Infinity;
    }
    this.sweep();
    for (const t of this.live.values()) {
      const res = t.res;
      const e = t.entry;
      e.live++;
      if (t.repeating) e.liveRepeating++;
      if (typeof res.hasRef === 'function' && !res.hasRef()) e.unrefed++;
      const start = t.chain !== null ? t.chain.startMs : t.createdMs;
      if (start < e.oldest) e.oldest = start;
    }
  }

  /*
   * The heap's figures from process.memoryUsage(), which V8 gives without
   * loading a module. The context counts need node:v8, whose loading (it
   * brings node's streams) cost `node -e 0` a fifth of its start-up: they
   * are read from the first tick on, and are null in a state written
   * before it (at start, or at the exit of a process shorter than a tick).
   */
  heap(ticked) {
    const mu = process.memoryUsage();
    let native = null;
    let detached = null;
    if (ticked) {
      const h = require('v8').getHeapStatistics();
      native = h.number_of_native_contexts;
      detached = h.number_of_detached_contexts;
    }
    return {
      heap: {
        used: mu.heapUsed,
        total: mu.heapTotal,
        external: mu.external,
        array_buffers: mu.arrayBuffers,
        native_contexts: native,
        detached_contexts: detached,
      },
      rss: mu.rss,
    };
  }

  /*
   * The TIMELINE_SITES entries with the most live timers now, as [entry, live]
   * pairs, most first. Per tick, never per timer: aggregate() has counted.
   */
  topLive() {
    const top = [];
    for (const e of this.entries.values()) {
      if (e.live === 0 || (top.length === TIMELINE_SITES && e.live <= top[TIMELINE_SITES - 1][1])) continue;
      if (top.length === TIMELINE_SITES) top.pop();
      let i = top.length;
      while (i > 0 && top[i - 1][1] < e.live) i--;
      top.splice(i, 0, [e, e.live]);
    }
    return top;
  }

  sample(now, live, mem, force) {
    if (!force && this.ticks++ % this.timelineStep !== 0) return;
    this.timeline.push({
      time_ms: now,
      timers_live: live,
      heap_used: mem.heap.used,
      heap_total: mem.heap.total,
      external: mem.heap.external,
      array_buffers: mem.heap.array_buffers,
      rss: mem.rss,
      sites: this.topLive(),
    });
    if (this.timeline.length >= TIMELINE_MAX) {
      /* Thin rather than drop: the whole run stays visible, at a coarser step. */
      this.timeline = this.timeline.filter((_, i) => i % 2 === 1);
      this.timelineStep *= 2;
    }
  }

  /*
   * The timeline as JSON text. A sample names its sites by their index in
   * this write's `sites`, whose order changes from one write to the next;
   * entries are never dropped, so every one a sample holds is there.
   */
  renderTimeline(entries) {
    const index = new Map();
    entries.forEach((e, i) => index.set(e, i));
    return this.timeline
      .map(
        (p) =>
          `{"time_ms":${p.time_ms},"timers_live":${p.timers_live},"heap_used":${p.heap_used},` +
          `"heap_total":${p.heap_total},"external":${p.external},"array_buffers":${p.array_buffers},` +
          `"rss":${p.rss},"site_live":[${p.sites.map(([e, n]) => `[${index.get(e)},${n}]`).join(',')}]}`,
      )
      .join(',');
  }

  /* The state as JSON text. */
  render(complete, gcDone) {
    this.aggregate();
    const now = Date.now();
    const entries = [...this.entries.values()].sort(
      (a, b) =>
        (b.liveRepeating > 0) - (a.liveRepeating > 0) ||
        b.live - a.live ||
        b.created - a.created ||
        (a.site.file < b.site.file ? -1 : a.site.file > b.site.file ? 1 : 0) ||
        a.site.line - b.site.line ||
        a.site.column - b.site.column,
    );
    let live = this.overflow.live;
    for (const e of entries) live += e.live;
    const mem = this.heap(this.ticked);
    this.sample(now, live, mem, complete);

    const sites = entries.map((e) => {
      const via = e.via === null ? 'null' : `{${e.via.json},"frames":${e.via.framesJson}}`;
      const interval = e.liveRepeating > 0 ? e.lastRepeat : e.lastDelay;
      return (
        `{${e.site.json},"live":${e.live},"created":${e.created},"repeating":${e.liveRepeating > 0},` +
        `"interval_ms":${interval},"oldest_created_ms":${e.live > 0 ? e.oldest : null},` +
        `"unrefed":${e.unrefed},"inherited":${e.via !== null},"via":${via},"frames":${e.site.framesJson}}`
      );
    });
    const head = {
      tool: TOOL,
      version: VERSION,
      pid: process.pid,
      time_ms: now,
      start_ms: this.startMs,
      complete,
      following: wait === null /* timers followed: not waiting for `ctl start` */,
      following_since_ms: this.followingSince,
      tick_ms: this.opt.tickMs,
      gc: gcDone,
      timers_created: this.timersCreated,
      timers_live: live,
      overflow: { live: this.overflow.live, created: this.overflow.created },
      heap: mem.heap,
      rss: mem.rss,
    };
    return (
      `${JSON.stringify(head).slice(0, -1)},"timeline":[${this.renderTimeline(entries)}],` +
      `"sites":[\n${sites.join(',\n')}]}\n`
    );
  }

  /*
   * Writes the state: a new file beside the old one, renamed over it, so the
   * file a reader finds is always whole, even after SIGKILL. Returns the path,
   * or null when it could not be written (said once on stderr).
   */
  write(complete, gcDone = false) {
    this.keepMaps();
    const err = writeWhole(this.file, this.render(complete, gcDone));
    if (err === null) return this.file;
    if (!this.writeFailed) say(`cannot write ${this.file}: ${err.message}; JS timers are not recorded`);
    this.writeFailed = true;
    return null;
  }

  /*
   * The source maps node holds for the CommonJS modules it compiled from
   * something else than JS on disk: tsx, and any require hook that
   * transpiles with node's source maps on. They are in node's memory only,
   * so they are kept beside the trace (<stem>.maps.json), where the report
   * reads them: without them, frames would name the transpiled code's lines
   * in the source's file. A script that is JS on disk has its map there, if
   * any. Read from the modules loaded since the last write, only when
   * node's source maps are on.
   */
  keepMaps() {
    if (!process.sourceMapsEnabled || this.mapsFailed) return;
    const names = Object.keys(require.cache);
    if (names.length === this.mapsSeen) return;
    this.mapsSeen = names.length;
    let added = 0;
    for (const name of names) {
      if (this.mapsExamined.has(name)) continue;
      this.mapsExamined.add(name);
      if (!path.isAbsolute(name) || /\.[cm]?js$/.test(name)) continue;
      /* node:module loaded only now: at start it cost node -e 0 a tenth more time. */
      const map = require('module').findSourceMap(name);
      if (!map || typeof map.payload !== 'object') continue;
      this.maps.push(`{"script":${JSON.stringify(name)},"map":${JSON.stringify(map.payload)}}`);
      added++;
    }
    if (!added) return;
    const file = this.file.replace(/\.js\.json$/, '.maps.json');
    const err = writeWhole(file, `{"tool":"${TOOL}","version":1,"maps":[\n${this.maps.join(',\n')}]}\n`);
    if (err !== null) {
      say(`cannot write ${file}: ${err.message}; frames of transpiled scripts keep the transpiled lines`);
      this.mapsFailed = true;
    }
  }

  /*
   * A full collection, so that the heap figures count what is retained, not
   * what was merely not collected yet. --expose-gc set now reaches only new
   * contexts: gc() is taken from one, once.
   */
  collect() {
    if (this.gcFn === null) {
      require('v8').setFlagsFromString('--expose-gc');
      this.gcFn = require('vm').runInNewContext('gc');
    }
    this.gcFn();
    return true;
  }
}

// ---------------------------------------------------------------------------
// The hooks. Every one of them catches everything: an exception thrown from
// an async hook ends the process.

let executionAsyncResource = null;
let executionAsyncId = null;

function hookInit(asyncId, type, triggerAsyncId, resource) {
  const t = tracer;
  if (type === 'Timeout') {
    try {
      t.onTimeout(asyncId, triggerAsyncId, resource);
    } catch (err) {
      fail(err);
    }
  } else if (
    (type === 'PROMISE' || type === 'TickObject' || type === 'Immediate' || type === 'Microtask') &&
    (t.live.size > 0 || t.carried) &&
    resource !== null &&
    (typeof resource === 'object' || typeof resource === 'function')
  ) {
    try {
      t.onDeferred(triggerAsyncId, resource);
    } catch (err) {
      fail(err);
    }
  }
}

let hook = null;
let ticker = null;

/* A bug of ours: say it once, stop tracking, and let the application run. */
function fail(err) {
  if (failed) return;
  failed = true;
  say(`JS timer tracking stopped after an internal error: ${err && err.stack ? err.stack : err}`);
  try {
    busy(false); /* an error in the middle of a capture */
    if (hook) hook.disable();
    if (ticker) clearInterval(ticker);
    if (waitPoll) clearInterval(waitPoll);
  } catch {
    /* nothing more to undo */
  }
}

/*
 * Started paused (LEAKTRACE_START=paused): no timer is followed until the
 * preload records, as no block is; the module reads the recording state in
 * the trace file's header ("OFFSET:PATH" in LEAKTRACE_JS_WAIT, set by the
 * preload). Its heap figures are sampled all the same.
 */
const STATE_ON = 1; /* enum lt_state, include/leaktrace/format.h */
let wait = null; /* { fd, offset, buf } while paused */
/*
 * Read every WAIT_POLL_MS too, not only at ticks (a second apart): a server
 * under load makes timers at once after `ctl start`, which waits until
 * this module wrote its state file after the start.
 */
const WAIT_POLL_MS = 20;
let waitPoll = null;

function openWait(value) {
  const m = /^(\d+):(.+)$/.exec(value || '');
  if (!m) return null;
  try {
    return { fd: fs.openSync(m[2], 'r'), offset: Number(m[1]), buf: Buffer.alloc(4) };
  } catch {
    return null; /* no file to read: follow timers from now, as before */
  }
}

/* Whether the wait is over: the preload records now, or cannot be read. */
function waitOver() {
  try {
    if (fs.readSync(wait.fd, wait.buf, 0, 4, wait.offset) === 4 && wait.buf.readUInt32LE(0) !== STATE_ON)
      return false;
  } catch {
    /* the file is gone: stop waiting */
  }
  try {
    fs.closeSync(wait.fd);
  } catch {}
  wait = null;
  return true;
}

/* The wait is over: timers followed from now, which the state file says at once. */
function follow() {
  clearInterval(waitPoll);
  waitPoll = null;
  tracer.followingSince = Date.now();
  hook.enable();
}

function pollWait() {
  try {
    if (wait !== null && waitOver()) {
      follow();
      tracer.write(false);
    }
  } catch (err) {
    fail(err);
  }
}

function onTick() {
  try {
    if (wait !== null && waitOver()) follow();
    tracer.ticked = true;
    tracer.tickCount++;
    tracer.write(false);
  } catch (err) {
    fail(err);
  }
}

function onExit() {
  try {
    const t = tracer;
    let gcDone = false;
    if (t.opt.gc === true || (t.opt.gc === null && t.tickCount >= GC_AUTO_TICKS && !endedByItself)) {
      t.aggregate(); /* drop what is gone before collecting, so we hold nothing dead */
      gcDone = t.collect();
    }
    /*
     * The preload stops recording here (its setenv hook): node, ending by
     * itself, next frees every block its heap held, and the trace would
     * keep none of what the program held when it finished.
     */
    process.env.LEAKTRACE_JS_EXIT = '1';
    t.exiting = true;
    t.write(true, gcDone);
  } catch (err) {
    fail(err);
  }
}

function start() {
  const { o, bad } = readOptions(process.env);
  opt = o;
  if (!o.state || !o.enabled || !stemIsOurs(o.state)) return;
  /*
   * The variable is the main thread's, which loads this module before any
   * code of the program runs: taken out of the environment now, it is in
   * no copy of it that a worker thread gets (whose file would be the
   * process's too), nor in a child's, which a traced child's preload sets
   * anew. Asking worker_threads.isMainThread instead loaded node's worker
   * and stream modules: a fifth of `node -e 0`'s start-up.
   */
  delete process.env.LEAKTRACE_JS_STATE;
  const waitFor = process.env.LEAKTRACE_JS_WAIT;
  delete process.env.LEAKTRACE_JS_WAIT;
  busyMarks = process.env.LEAKTRACE_JS_PRELOAD === '1';
  delete process.env.LEAKTRACE_JS_PRELOAD;
  /* Loaded twice (two paths to this file): the first one tracks, and answers for both. */
  if (process[MARK]) return;
  Object.defineProperty(process, MARK, { value: api, enumerable: false });
  if (bad.length) say(`ignoring ${bad.join(', ')}: bad value, default used`);
  begin(o, waitFor);
}

/*
 * The exit write runs when node emits 'exit' (process.exit, or the end of
 * the event loop), seen through process.emit rather than as a listener: a
 * listener of ours would be the eleventh of a program that has ten, and
 * node would warn the program of a leak that only the tracer made.
 */
let emitWrapped = null;
let emitBefore = null; /* [own property or not, the function] */

function watchExit() {
  const emit = process.emit;
  emitBefore = [Object.prototype.hasOwnProperty.call(process, 'emit'), emit];
  /* A method named emit, as the frame it adds to a stack says. */
  const wrapped = {
    emit(event) {
      if (event === 'beforeExit') endedByItself = true;
      if (event === 'exit' && emitWrapped === wrapped) {
        emitWrapped = null; /* once */
        onExit();
      }
      return Reflect.apply(emit, this, arguments);
    },
  }.emit;
  emitWrapped = wrapped;
  process.emit = wrapped;
}

/* Puts process.emit back, if nobody wrapped it since; else ours, which
 * they call, only passes through from now on. */
function unwatchExit() {
  if (process.emit === emitWrapped) {
    if (emitBefore[0]) process.emit = emitBefore[1];
    else delete process.emit;
  }
  emitWrapped = emitBefore = null;
}

function begin(o, waitFor) {
  const asyncHooks = require('async_hooks');
  executionAsyncResource = asyncHooks.executionAsyncResource;
  executionAsyncId = asyncHooks.executionAsyncId;
  tracer = new Tracer(path.resolve(o.state), o);
  /* Made before the hook is enabled: our own timer is never seen. */
  ticker = setInterval(onTick, o.tickMs);
  ticker.unref();
  hook = asyncHooks.createHook({ init: hookInit });
  wait = openWait(waitFor);
  if (wait === null || waitOver()) {
    tracer.followingSince = Date.now();
    hook.enable();
  } else {
    waitPoll = setInterval(pollWait, WAIT_POLL_MS);
    waitPoll.unref();
  }
  watchExit();
  tracer.write(false);
}

/*
 * Writes FILE whole: a new file beside it, renamed over it, so that the file
 * a reader finds is always whole, even after SIGKILL. Returns null, or the
 * error.
 */
function writeWhole(file, text) {
  const tmp = `${file}.tmp`;
  const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW } = fs.constants;
  try {
    let fd;
    try {
      fd = fs.openSync(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
    } catch (err) {
      if (err.code !== 'EEXIST') throw err;
      fs.unlinkSync(tmp); /* left by a killed process of the same pid */
      fd = fs.openSync(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
    }
    try {
      fs.writeFileSync(fd, text); /* all of it, or an exception: never a short file renamed */
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
    return null;
  } catch (err) {
    try {
      fs.unlinkSync(tmp);
    } catch {
      /* never made */
    }
    return err;
  }
}

/**
 * Writes the state file now, after a full GC when `gc` is true. Returns the
 * path written, or null when the module is inactive or the write failed.
 */
function snapshot({ gc = false } = {}) {
  if (tracer === null) return null;
  try {
    const gcDone = gc ? (tracer.aggregate(), tracer.collect()) : false;
    return tracer.write(false, gcDone);
  } catch (err) {
    fail(err);
    return null;
  }
}

/**
 * `leaktrace attach` (through node's inspector, in a process started
 * without the preload): follows the timers made from now on, into the
 * state of the trace file `stem`. Returns the state file, or null when the
 * module tracks already or `stem` is not this process's.
 */
function attach(stem, tickMs) {
  if (tracer !== null || process[MARK] || typeof stem !== 'string' || !stemIsOurs(stem)) return null;
  const { o } = readOptions({ ...process.env, LEAKTRACE_JS_STATE: stem, LEAKTRACE_TICK_MS: String(tickMs || '') });
  o.enabled = true;
  opt = o;
  failed = false;
  try {
    begin(o);
    return tracer.file;
  } catch (err) {
    fail(err);
    return null;
  }
}

/** The end of an attach: the last state written complete, every hook off. Returns whether it tracked. */
function detach() {
  if (tracer === null || process[MARK]) return false;
  try {
    hook.disable();
    clearInterval(ticker);
    clearInterval(waitPoll);
    unwatchExit();
    tracer.write(true);
  } catch (err) {
    fail(err);
  }
  tracer = hook = ticker = waitPoll = null;
  return true;
}

const MARK = Symbol.for('leaktrace.js');
const api = {
  snapshot,
  attach,
  detach,
  /** The state file this process writes, or null when the module is inactive. */
  stateFile: () => (tracer === null ? null : tracer.file),
};

try {
  start();
} catch (err) {
  fail(err);
}

module.exports = process[MARK] || api;
