#!/usr/bin/env node
// A git smart-HTTP server for sparekey's integration tests: git's own
// `git http-backend` run as a CGI program for the bare repositories under
// --repo-root, behind HTTP Basic authentication whose password must be an
// access token the test provider accepts (resource.mjs). Any user name.
//
// Usage: node git-http.mjs --issuer URL --repo-root DIR
//                          [--port N] [--port-file FILE] [--log FILE]
//   URL http://127.0.0.1:PORT/NAME.git is the repository DIR/NAME.git; clone
//   and push both work (REMOTE_USER is set, so http-backend enables
//   receive-pack).
//   Without credentials, or with a password the provider refuses: 401 with
//   WWW-Authenticate: Basic realm="sparekey-test-git", as a forge answers,
//   so that git asks its credential helpers (and, after a refused password,
//   tells them to erase it).
//   --log FILE  JSON lines, one per request: {ts, method, path, service,
//               user, auth: none|accepted|refused, status}; never a token.
// "ready PORT" on stdout once it answers (serve.mjs).
import { spawn } from 'node:child_process';
import http from 'node:http';
import process from 'node:process';

import { jsonLog, peerArgs, providerAccepts } from './resource.mjs';
import { serveLoopback } from './serve.mjs';

const NAME = 'git-http.mjs';
const opt = peerArgs(NAME, process.argv.slice(2), { '--repo-root': 'repoRoot' });
if (!opt.issuer || !opt.repoRoot) {
  process.stderr.write(`${NAME}: --issuer and --repo-root are required\n`);
  process.exit(64);
}
const log = jsonLog(opt.log);
const REALM = 'sparekey-test-git';

// Basic credentials of a request: { user, password } or undefined.
function basicAuth(req) {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(req.headers.authorization || '');
  if (!m) return undefined;
  const dec = Buffer.from(m[1], 'base64').toString('utf8');
  const i = dec.indexOf(':');
  return i < 0 ? undefined : { user: dec.slice(0, i), password: dec.slice(i + 1) };
}

function unauthorized(res) {
  res.writeHead(401, { 'www-authenticate': `Basic realm="${REALM}"`, 'content-type': 'text/plain' });
  res.end('authentication required\n');
}

// Runs http-backend with the request as CGI input and relays its answer
// (a CGI header block, then the body). Resolves to the HTTP status sent.
function cgi(req, res, url, user) {
  return new Promise((resolve) => {
    const env = {
      PATH: process.env.PATH,
      GIT_PROJECT_ROOT: opt.repoRoot,
      GIT_HTTP_EXPORT_ALL: '1',
      GATEWAY_INTERFACE: 'CGI/1.1',
      SERVER_PROTOCOL: 'HTTP/1.1',
      SERVER_SOFTWARE: NAME,
      REQUEST_METHOD: req.method,
      PATH_INFO: decodeURIComponent(url.pathname),
      QUERY_STRING: url.search.replace(/^\?/, ''),
      CONTENT_TYPE: req.headers['content-type'] || '',
      REMOTE_ADDR: req.socket.remoteAddress || '127.0.0.1',
      REMOTE_USER: user,
      AUTH_TYPE: 'Basic',
    };
    if (req.headers['content-length']) env.CONTENT_LENGTH = req.headers['content-length'];
    if (req.headers['content-encoding']) env.HTTP_CONTENT_ENCODING = req.headers['content-encoding'];
    if (req.headers['git-protocol']) env.GIT_PROTOCOL = req.headers['git-protocol'];
    const child = spawn('git', ['http-backend'], { env, stdio: ['pipe', 'pipe', 'inherit'] });
    req.pipe(child.stdin);
    child.stdin.on('error', () => {});

    let head = Buffer.alloc(0);
    let status = 0;
    child.stdout.on('data', (chunk) => {
      if (status) {
        res.write(chunk);
        return;
      }
      head = Buffer.concat([head, chunk]);
      let end = head.indexOf('\r\n\r\n');
      let sep = 4;
      if (end < 0) {
        end = head.indexOf('\n\n');
        sep = 2;
      }
      if (end < 0) return;
      const headers = {};
      status = 200;
      for (const line of head.subarray(0, end).toString('latin1').split(/\r?\n/)) {
        const i = line.indexOf(':');
        if (i < 0) continue;
        const k = line.slice(0, i).trim().toLowerCase();
        const v = line.slice(i + 1).trim();
        if (k === 'status') status = Number.parseInt(v, 10) || 500;
        else headers[k] = v;
      }
      res.writeHead(status, headers);
      res.write(head.subarray(end + sep));
    });
    child.on('close', (code) => {
      if (!status) {
        status = 500;
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`git http-backend exited ${code} without an answer\n`);
      } else {
        res.end();
      }
      resolve(status);
    });
  });
}

async function handle(req, res) {
  const url = new URL(req.url, 'http://127.0.0.1');
  const service = url.searchParams.get('service')
    || (/\/(git-[a-z-]+)$/.exec(url.pathname)?.[1] ?? '');
  const entry = { method: req.method, path: url.pathname, service };
  const cred = basicAuth(req);
  if (!cred) {
    req.resume();
    unauthorized(res);
    log({ ...entry, user: null, auth: 'none', status: 401 });
    return;
  }
  const verdict = await providerAccepts(opt.issuer, cred.password);
  if (!verdict.ok) {
    req.resume();
    unauthorized(res);
    log({ ...entry, user: cred.user, auth: 'refused', provider_status: verdict.status, status: 401 });
    return;
  }
  const status = await cgi(req, res, url, cred.user || verdict.sub || 'oauth2');
  log({ ...entry, user: cred.user, auth: 'accepted', status });
}

const server = http.createServer((req, res) => {
  handle(req, res).catch((e) => {
    process.stderr.write(`${NAME}: ${e.stack || e}\n`);
    if (!res.headersSent) res.writeHead(500);
    res.end();
  });
});
serveLoopback(server, { name: NAME, port: opt.port, portFile: opt.portFile });
