// A React server-rendering site in miniature, with the leak leaktrace was
// born from (see README.md): every page rendered on the server arms a
// window.setInterval that is never cleared. Served by node's http module,
// alone or as a cluster whose primary re-forks the workers that die, as
// egg's cfork does.
//
// Usage: node server.js [--fixed] [--cluster N] [--host HOST] [--port PORT]
//                       [--ready-file FILE]
//   --fixed            the fixed component (SSR_FIXED=1 does the same)
//   --cluster N        a primary and N workers
//   --host HOST        default 127.0.0.1
//   --port PORT        default 0: a port chosen by the system
//   --ready-file FILE  once serving, FILE gets {"pid", "port", "workers"},
//                      rewritten whenever the set of workers changes
//
// GET / renders the detail page; GET /health answers {"ok":true,...}.
// SIGTERM or SIGINT: the server closes and the process exits 0; a primary
// passes the signal to its workers and exits when they have.
'use strict';

const cluster = require('node:cluster');
const fs = require('node:fs');
const http = require('node:http');

const REFORK_LIMIT = 10; /* re-forks within REFORK_WINDOW_MS, as cfork limits a crash loop */
const REFORK_WINDOW_MS = 60000;
const STOP_DEADLINE_MS = 10000;

function fail(message) {
  process.stderr.write(`ssr-leak: ${message}\n`);
  process.exit(2);
}

function parseArgs(argv) {
  const opts = {
    fixed: process.env.SSR_FIXED === '1', cluster: 0, host: '127.0.0.1', port: 0, readyFile: null,
  };
  const value = (i, name) => (i + 1 < argv.length ? argv[i + 1] : fail(`${name} needs a value`));
  const count = (v, name, min, max) => {
    const n = /^\d+$/.test(v) ? Number(v) : NaN;
    return n >= min && n <= max ? n : fail(`${name} ${v}: not a number from ${min} to ${max}`);
  };
  for (let i = 0; i < argv.length; i++) {
    switch (argv[i]) {
      case '--fixed': opts.fixed = true; break;
      case '--cluster': opts.cluster = count(value(i, '--cluster'), '--cluster', 1, 64); i++; break;
      case '--host': opts.host = value(i, '--host'); i++; break;
      case '--port': opts.port = count(value(i, '--port'), '--port', 0, 65535); i++; break;
      case '--ready-file': opts.readyFile = value(i, '--ready-file'); i++; break;
      default: fail(`unknown argument ${argv[i]} (see the top of server.js)`);
    }
  }
  return opts;
}

function log(message) {
  process.stderr.write(`ssr-leak: ${message}\n`);
}

// Whole or absent, never half written: a script polls for it.
function writeReady(file, state) {
  if (!file) return;
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    fs.writeFileSync(tmp, `${JSON.stringify(state)}\n`);
    fs.renameSync(tmp, file);
  } catch (err) {
    fail(`cannot write the ready file: ${err.message}`);
  }
}

// One process serving pages: alone, or a cluster worker.
function serve(opts) {
  // React picks its build when first loaded; the development build checks
  // and warns at every render, which a server does not do.
  process.env.NODE_ENV = process.env.NODE_ENV || 'production';
  const { JSDOM } = require('jsdom');
  const React = require('react');
  const ReactDOMServer = require('react-dom/server');
  const { DetailPage } = require('./app/DetailPage');
  const { createStore } = require('./app/store');

  // beidou's isomorphic set-up: one browser-like window for the whole
  // process, made global at start so that code written for the browser
  // runs during the server's render. Its timers are real node timers.
  const dom = new JSDOM('<!DOCTYPE html><html><head></head><body><div id="app"></div></body></html>',
    { url: `http://${opts.host}/` });
  global.window = dom.window;
  global.document = dom.window.document;

  let served = 0;
  const server = http.createServer((req, res) => {
    const path = req.url.split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
    } else if (path === '/health') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ok: true, pid: process.pid, served, fixed: opts.fixed }));
    } else if (path === '/') {
      const store = createStore(served + 1);
      let body;
      try {
        body = ReactDOMServer.renderToString(React.createElement(DetailPage, { store, fixed: opts.fixed }));
      } catch (err) {
        log(`pid ${process.pid}: render failed: ${err.message}`);
        res.writeHead(500, { 'content-type': 'text/plain' }).end('render failed\n');
        return;
      }
      served++;
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'x-served-by': String(process.pid) });
      res.end(`<!DOCTYPE html><html><head><title>Route ${store.route.from} to ${store.route.to}</title></head>` +
        `<body><div id="app">${body}</div></body></html>`);
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    }
  });

  server.listen(opts.port, opts.host, () => {
    if (cluster.isWorker) return; /* the primary says where the cluster serves */
    const { port } = server.address();
    console.log(`ssr-leak: ${opts.fixed ? 'fixed' : 'leaky'} server, pid ${process.pid}, ` +
      `http://${opts.host}:${port}/`);
    writeReady(opts.readyFile, { pid: process.pid, port, workers: [] });
  });
  server.on('error', (err) => fail(`cannot listen on ${opts.host}:${opts.port}: ${err.message}`));

  let stopping = false;
  const stop = (signal) => {
    if (stopping) return;
    stopping = true;
    // The intervals the leaky pages left would keep node running for ever:
    // exit once the requests in flight are answered.
    const deadline = setTimeout(() => server.closeAllConnections(), STOP_DEADLINE_MS / 2);
    server.close(() => {
      clearTimeout(deadline);
      log(`pid ${process.pid} served ${served} page${served === 1 ? '' : 's'}; stopped by ${signal}`);
      process.exit(0);
    });
    server.closeIdleConnections();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

// The primary of a cluster: forks the workers, forks another when one dies,
// passes SIGTERM and SIGINT on and waits for every worker to end.
function primary(opts) {
  const alive = new Set(); /* workers not yet exited */
  const listening = new Set(); /* pids of the workers serving */
  const reforks = [];
  let port = null, announced = false, stopping = false, failed = false;

  const ready = () => writeReady(opts.readyFile, { pid: process.pid, port, workers: [...listening].sort((a, b) => a - b) });
  const fork = () => alive.add(cluster.fork());

  cluster.on('listening', (worker, address) => {
    port = address.port;
    listening.add(worker.process.pid);
    if (!announced && listening.size === opts.cluster) {
      announced = true;
      console.log(`ssr-leak: ${opts.fixed ? 'fixed' : 'leaky'} cluster, primary pid ${process.pid}, ` +
        `${opts.cluster} workers, http://${opts.host}:${port}/`);
    }
    if (announced) ready();
  });

  cluster.on('exit', (worker, code, signal) => {
    alive.delete(worker);
    listening.delete(worker.process.pid);
    if (stopping) {
      if (code !== 0) failed = true;
      if (alive.size === 0) {
        log(`primary pid ${process.pid}: every worker has ended`);
        process.exit(failed ? 1 : 0);
      }
      return;
    }
    const now = Date.now();
    while (reforks.length && now - reforks[0] > REFORK_WINDOW_MS) reforks.shift();
    if (reforks.length >= REFORK_LIMIT) {
      log(`worker ${worker.process.pid} died (${signal || `exit status ${code}`}); ` +
        `${REFORK_LIMIT} re-forks in ${REFORK_WINDOW_MS / 1000} s already, not forking another`);
      if (alive.size === 0) process.exit(1);
    } else {
      log(`worker ${worker.process.pid} died (${signal || `exit status ${code}`}); forking another`);
      reforks.push(now);
      fork();
    }
    if (announced) ready();
  });

  const stop = (signal) => {
    if (stopping) return;
    stopping = true;
    if (alive.size === 0) process.exit(0);
    for (const worker of alive) worker.process.kill(signal);
    setTimeout(() => {
      log(`primary pid ${process.pid}: ${alive.size} workers still running after ` +
        `${STOP_DEADLINE_MS / 1000} s; killing them`);
      for (const worker of alive) worker.process.kill('SIGKILL');
      process.exit(1);
    }, STOP_DEADLINE_MS).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);

  for (let i = 0; i < opts.cluster; i++) fork();
}

const opts = parseArgs(process.argv.slice(2));
if (opts.cluster && cluster.isPrimary) primary(opts);
else serve(opts);
