// `leaktrace attach` in a node process started without the preload: the JS
// timer module can only be loaded from inside, and node's inspector is the
// way in, when the user opened it (--inspect): never opened here. This
// helper evaluates one expression there, as a debugger's console does, and
// prints its value as JSON.
//
// Usage: node --experimental-websocket inspect.js HOST PORT EXPRESSION
// Exit 0 with the value on stdout, or 1 with one line on stderr.
'use strict';

const http = require('node:http');

const [host, port, expression] = process.argv.slice(2);

function fail(message) {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}

if (!host || !/^\d+$/.test(port || '') || !expression) fail('usage: inspect.js HOST PORT EXPRESSION');
if (typeof WebSocket !== 'function') fail('this node has no WebSocket (node 20.10 or later, --experimental-websocket)');
setTimeout(() => fail(`the inspector at ${host}:${port} did not answer within 10 s`), 10000);

function targets() {
  return new Promise((resolve, reject) => {
    const req = http.get({ host, port: Number(port), path: '/json/list', timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (s) => { body += s; });
      res.on('end', () => {
        try {
          resolve(JSON.parse(body));
        } catch (err) {
          reject(new Error(`not an inspector: ${err.message}`));
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error('no answer')));
    req.on('error', reject);
  });
}

/*
 * Reaching the inspector (its list, then its websocket) is tried again,
 * 100 ms later, within the 10 s, as long as the expression was not sent:
 * e2e_attach once found a detach that had not reached the module, under
 * load; once sent, it never is (it would run twice).
 */
const deadline = Date.now() + 9000;

function attempt() {
  targets().then((list) => {
    const url = Array.isArray(list) && list[0] && list[0].webSocketDebuggerUrl;
    if (typeof url !== 'string') fail(`the inspector at ${host}:${port} lists no target`);
    const ws = new WebSocket(url);
    let opened = false;
    ws.onerror = () => {
      if (!opened && Date.now() < deadline) setTimeout(attempt, 100);
      else fail(`cannot talk to the inspector at ${url}`);
    };
    ws.onopen = () => {
      opened = true;
      ws.send(JSON.stringify({
        id: 1,
        method: 'Runtime.evaluate',
        params: { expression, includeCommandLineAPI: true, returnByValue: true },
      }));
    };
    ws.onmessage = (ev) => {
      const m = JSON.parse(ev.data);
      if (m.id !== 1) return;
      if (m.error) fail(`the inspector refused: ${m.error.message}`);
      if (m.result.exceptionDetails) {
        const d = m.result.exceptionDetails;
        fail(`the expression threw: ${(d.exception && d.exception.description) || d.text}`);
      }
      process.stdout.write(`${JSON.stringify(m.result.result.value ?? null)}\n`);
      process.exit(0);
    };
  }, (err) => {
    if (Date.now() < deadline) setTimeout(attempt, 100);
    else fail(`cannot reach the inspector at ${host}:${port}: ${err.message}`);
  });
}

attempt();
