// SPDX-License-Identifier: BSD-2-Clause
// Node.js HTTPS for the TLS end-to-end tests (node runs OpenSSL over
// memory BIOs: its socket I/O is never under an SSL call).
//
//   node tls_node.js server PORT CERT KEY      https.createServer, JSON answers
//   node tls_node.js client PORT N GAP_MS      N keep-alive GETs on one connection,
//                                              GAP_MS apart (0: back to back),
//                                              prints "done"
'use strict';
const https = require('https');
const fs = require('fs');
const [mode, port, a, b] = process.argv.slice(2);

if (mode === 'server') {
  https.createServer({ cert: fs.readFileSync(a), key: fs.readFileSync(b) }, (req, res) => {
    let n = 0;
    req.on('data', (d) => { n += d.length; });
    req.on('end', () => {
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify({ path: req.url, received: n, ok: true }));
    });
  }).listen(+port, '127.0.0.1', () => console.log('listening'));
} else {
  const total = +a, gap = +b;
  const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
  let done = 0;
  const one = (i) => {
    const req = https.request({ host: '127.0.0.1', port: +port, path: '/items/' + (i + 1),
      agent, rejectUnauthorized: false }, (res) => {
      res.resume();
      res.on('end', () => {
        done++;
        if (done === total) { console.log('done'); agent.destroy(); return; }
        if (gap > 0) setTimeout(() => one(done), gap);
      });
    });
    req.end();
  };
  if (gap > 0) one(0); else for (let i = 0; i < total; i++) one(i);
}
