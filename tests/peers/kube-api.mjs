#!/usr/bin/env node
// A stand-in for a Kubernetes API server, for sparekey's integration tests:
// HTTPS on 127.0.0.1 with a certificate made at test time, answering only
// requests whose Authorization: Bearer token the test provider accepts
// (resource.mjs), as an API server with OIDC authentication would.
//
// Usage: node kube-api.mjs --issuer URL --cert FILE --key FILE
//                          [--port N] [--port-file FILE] [--log FILE]
//   GET /version   the server's version (what `kubectl version` and
//                  `kubectl get --raw /version` read); its gitVersion is
//                  v1.20.2-sparekey-test
//   GET /api, /apis  empty discovery documents (for kubectl's discovery)
//   anything else  404 Status
//   No or a refused token: 401 Status "Unauthorized" (kubectl then runs its
//   exec plugin again, once).
//   --log FILE  JSON lines, one per request: {ts, method, path,
//               auth: none|accepted|refused, sub, status}; never a token.
import fs from 'node:fs';
import https from 'node:https';
import process from 'node:process';

import { jsonLog, peerArgs, providerAccepts } from './resource.mjs';
import { serveLoopback } from './serve.mjs';

const NAME = 'kube-api.mjs';
const opt = peerArgs(NAME, process.argv.slice(2), { '--cert': 'cert', '--key': 'key' });
if (!opt.issuer || !opt.cert || !opt.key) {
  process.stderr.write(`${NAME}: --issuer, --cert and --key are required\n`);
  process.exit(64);
}
const log = jsonLog(opt.log);

const VERSION = {
  major: '1',
  minor: '20',
  gitVersion: 'v1.20.2-sparekey-test',
  gitCommit: '0000000000000000000000000000000000000000',
  gitTreeState: 'clean',
  buildDate: '2026-01-01T00:00:00Z',
  goVersion: 'go1.19.8',
  compiler: 'gc',
  platform: 'linux/amd64',
};

function json(res, status, obj) {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(`${JSON.stringify(obj)}\n`);
}

function status(res, code, reason, message) {
  json(res, code, {
    kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code,
  });
}

async function handle(req, res) {
  req.resume();
  const { pathname } = new URL(req.url, 'https://127.0.0.1');
  const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization || '');
  const verdict = m ? await providerAccepts(opt.issuer, m[1]) : undefined;
  const entry = { method: req.method, path: pathname, auth: !m ? 'none' : verdict.ok ? 'accepted' : 'refused' };
  if (!verdict?.ok) {
    status(res, 401, 'Unauthorized', 'Unauthorized');
    log({ ...entry, status: 401 });
    return;
  }
  let code = 200;
  if (req.method !== 'GET') {
    code = 405;
    status(res, code, 'MethodNotAllowed', 'only GET here');
  } else if (pathname === '/version') {
    json(res, code, VERSION);
  } else if (pathname === '/api') {
    json(res, code, { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [] });
  } else if (pathname === '/apis') {
    json(res, code, { kind: 'APIGroupList', apiVersion: 'v1', groups: [] });
  } else {
    code = 404;
    status(res, code, 'NotFound', 'the server could not find the requested resource');
  }
  log({ ...entry, sub: verdict.sub, status: code });
}

const server = https.createServer({
  cert: fs.readFileSync(opt.cert),
  key: fs.readFileSync(opt.key),
}, (req, res) => {
  handle(req, res).catch((e) => {
    process.stderr.write(`${NAME}: ${e.stack || e}\n`);
    if (!res.headersSent) res.writeHead(500);
    res.end();
  });
});
serveLoopback(server, { name: NAME, port: opt.port, portFile: opt.portFile });
