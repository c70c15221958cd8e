// The native-heavy server of the benchmarks: each request builds a page of
// Buffers, gzips it with zlib and hashes it with crypto, so that most of its
// time goes to native code and it makes many mallocs per request (zlib's
// state and window, the Buffers' stores, OpenSSL's digest contexts). It keeps
// nothing from one request to the next: its heap does not grow.
//
// Usage: node native_server.js [--host HOST] [--port PORT] [--ready-file FILE]
//   --host HOST        default 127.0.0.1
//   --port PORT        default 0: a port chosen by the system
//   --ready-file FILE  once serving, FILE gets {"pid", "port"}
//
// GET / answers the gzipped page, with its SHA-256 in x-sha256.
// SIGTERM or SIGINT: the server closes and the process exits 0.
'use strict';

const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');
const zlib = require('node:zlib');

const PIECES = 24; /* Buffers per page, 256 bytes to 4 KiB each */

function fail(message) {
  process.stderr.write(`native_server: ${message}\n`);
  process.exit(2);
}

function parseArgs(argv) {
  const opts = { host: '127.0.0.1', port: 0, readyFile: null };
  for (let i = 0; i < argv.length; i++) {
    const v = i + 1 < argv.length ? argv[i + 1] : fail(`${argv[i]} needs a value`);
    switch (argv[i]) {
      case '--host': opts.host = v; break;
      case '--port':
        opts.port = /^\d+$/.test(v) && Number(v) <= 65535 ? Number(v) : fail(`--port ${v}: not a port`);
        break;
      case '--ready-file': opts.readyFile = v; break;
      default: fail(`unknown argument ${argv[i]} (see the top of native_server.js)`);
    }
    i++;
  }
  return opts;
}

// A page of a few dozen KB, different at every request (so that zlib works
// for it), made of separately allocated Buffers as a template engine would.
function page(n) {
  const pieces = [];
  let s = (n * 2654435761) >>> 0;
  for (let i = 0; i < PIECES; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    const size = 256 + (s >>> 8) % 3841;
    const b = Buffer.allocUnsafe(size);
    const line = `<li id="r${n}-${i}">row ${i} of request ${n}, seed ${s}</li>\n`;
    for (let off = 0; off < size; off += b.write(line, off));
    pieces.push(b);
  }
  return Buffer.concat(pieces);
}

const opts = parseArgs(process.argv.slice(2));
let served = 0;
const server = http.createServer((req, res) => {
  if (req.url !== '/') {
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    return;
  }
  const body = page(++served);
  const gz = zlib.gzipSync(body);
  const sha = crypto.createHash('sha256').update(body).digest('hex');
  res.writeHead(200, { 'content-type': 'text/html', 'content-encoding': 'gzip', 'x-sha256': sha });
  res.end(gz);
});

server.listen(opts.port, opts.host, () => {
  const { port } = server.address();
  if (opts.readyFile) {
    // Whole or absent, never half written: the benchmark polls for it.
    const tmp = `${opts.readyFile}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, `${JSON.stringify({ pid: process.pid, port })}\n`);
    fs.renameSync(tmp, opts.readyFile);
  }
});
server.on('error', (err) => fail(`cannot listen on ${opts.host}:${opts.port}: ${err.message}`));

const stop = () => {
  server.close(() => process.exit(0));
  server.closeIdleConnections();
  setTimeout(() => server.closeAllConnections(), 2000).unref();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
