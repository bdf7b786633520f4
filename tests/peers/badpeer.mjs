#!/usr/bin/env node
// A deliberately misbehaving HTTP server on 127.0.0.1 for sparekey's
// integration tests: point an endpoint override (e.g. token_endpoint) at one
// of its paths and see how sparekey copes. Any method; the request body is
// read and discarded.
//
// Usage: node badpeer.mjs [--port N] [--port-file FILE]
//   (env SPK_BADPEER_PORT, SPK_BADPEER_PORT_FILE; "ready PORT" on stdout)
//   SPK_BADPEER_LOG  JSON-lines file: one line per request
//                    {ts, method, path, content_type, body_bytes, grant_type,
//                     refresh_token_sha256}  (a digest, never the token)
//
// Paths:
//   /503             503 with a JSON error body
//   /503text         503 with a plain-text body
//   /500             500 with an HTML body
//   /502             502 with an HTML body (a proxy whose upstream is down)
//   /429             429 with Retry-After: 1 and a JSON error body
//   /html            200 text/html page (a captive portal / login page)
//   /garbage         200 application/json that is not JSON
//   /empty           200 application/json with an empty body
//   /notjsonobject   200 application/json with a JSON array
//   /huge            200 application/json, about 5 MiB, valid JSON
//   /truncated       200 application/json cut off in the middle (correct
//                    Content-Length for what is sent)
//   /expires_object  200 token response with expires_in as an object
//   /token_number    200 token response with access_token as a number
//   /no_access_token 200 token response without access_token
//   /invalid_client  401 {"error":"invalid_client"}
//   /invalid_grant   400 {"error":"invalid_grant"}
//   /slow            accepts the request and never answers (120 s, then closes)
//   /reset           closes the connection without any answer
//   anything else    404 JSON
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import process from 'node:process';

import { serveLoopback } from './serve.mjs';

let port = Number(process.env.SPK_BADPEER_PORT || 0);
let portFile = process.env.SPK_BADPEER_PORT_FILE || '';
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 1) {
  if (argv[i] === '--port') port = Number(argv[++i]);
  else if (argv[i] === '--port-file') portFile = argv[++i];
  else {
    process.stderr.write(`badpeer.mjs: unknown argument ${argv[i]}\n`);
    process.exit(64);
  }
}
const LOG = process.env.SPK_BADPEER_LOG || '';

function json(res, status, obj, headers = {}) {
  const body = JSON.stringify(obj);
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers });
  res.end(body);
}

const handlers = {
  '/503': (req, res) => json(res, 503, { error: 'temporarily_unavailable', error_description: 'down for maintenance' }),
  '/503text': (req, res) => {
    res.writeHead(503, { 'content-type': 'text/plain' });
    res.end('Service Unavailable\n');
  },
  '/500': (req, res) => {
    res.writeHead(500, { 'content-type': 'text/html' });
    res.end('<html><body><h1>Internal Server Error</h1></body></html>\n');
  },
  '/502': (req, res) => {
    res.writeHead(502, { 'content-type': 'text/html' });
    res.end('<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>\n');
  },
  '/429': (req, res) => json(res, 429, { error: 'rate_limited', error_description: 'slow down' }, { 'retry-after': '1' }),
  '/html': (req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end('<!DOCTYPE html><html><head><title>Sign in to the Wi-Fi</title></head>'
      + '<body><form method="post"><input name="user"><button>Sign in</button></form></body></html>\n');
  },
  '/garbage': (req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"access_token": "abc", "expires_in": 3600, "token_type": "Bearer", \x00\xff garbage }}}\n');
  },
  '/empty': (req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': '0' });
    res.end();
  },
  '/notjsonobject': (req, res) => json(res, 200, ['access_token', 'refresh_token']),
  '/huge': (req, res) => {
    // Valid JSON, about 5 MiB: a token response with an enormous extra field.
    const filler = 'x'.repeat(5 * 1024 * 1024);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(`{"access_token":"huge-access","token_type":"Bearer","expires_in":3600,`
      + `"refresh_token":"huge-refresh","filler":"${filler}"}`);
  },
  '/truncated': (req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"access_token":"truncated-access","token_type":"Bearer","expires_in":36');
  },
  '/expires_object': (req, res) => json(res, 200, {
    access_token: 'typed-access', token_type: 'Bearer', expires_in: { seconds: 3600 }, refresh_token: 'typed-refresh',
  }),
  '/token_number': (req, res) => json(res, 200, {
    access_token: 12345678901234, token_type: 'Bearer', expires_in: 3600, refresh_token: 'typed-refresh',
  }),
  '/no_access_token': (req, res) => json(res, 200, {
    token_type: 'Bearer', expires_in: 3600, refresh_token: 'lonely-refresh', scope: 'openid offline_access',
  }),
  '/invalid_client': (req, res) => json(res, 401, { error: 'invalid_client', error_description: 'client authentication failed' },
    { 'www-authenticate': 'Basic realm="badpeer"' }),
  '/invalid_grant': (req, res) => json(res, 400, { error: 'invalid_grant', error_description: 'grant request is invalid' }),
  '/slow': (req, res) => {
    const t = setTimeout(() => res.destroy(), 120 * 1000);
    res.on('close', () => clearTimeout(t));
  },
  '/reset': (req, res) => req.socket.destroy(),
};

const server = http.createServer((req, res) => {
  const chunks = [];
  let bytes = 0;
  req.on('data', (c) => {
    bytes += c.length;
    if (bytes <= 65536) chunks.push(c);
  });
  req.on('end', () => {
    const { pathname } = new URL(req.url, 'http://127.0.0.1');
    let grantType;
    let rtDigest;
    if (/x-www-form-urlencoded/.test(req.headers['content-type'] || '')) {
      const form = new URLSearchParams(Buffer.concat(chunks).toString('latin1'));
      grantType = form.get('grant_type') || undefined;
      const rt = form.get('refresh_token');
      if (rt) rtDigest = crypto.createHash('sha256').update(rt, 'utf8').digest('hex');
    }
    if (LOG) {
      fs.appendFileSync(LOG, `${JSON.stringify({
        ts: Date.now() / 1000,
        method: req.method,
        path: pathname,
        content_type: req.headers['content-type'],
        body_bytes: bytes,
        grant_type: grantType,
        refresh_token_sha256: rtDigest,
      })}\n`);
    }
    process.stderr.write(`badpeer: ${req.method} ${pathname} (${bytes} bytes)\n`);
    const h = handlers[pathname];
    if (h) h(req, res);
    else json(res, 404, { error: 'not_found', path: pathname });
  });
});
serveLoopback(server, { name: 'badpeer.mjs', port, portFile });
