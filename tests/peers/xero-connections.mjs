#!/usr/bin/env node
// The Xero API side of sparekey's integration tests: GET /connections as
// api.xero.com serves it, answering only for an access token that the test
// authorization server (provider.mjs) accepts. Listens on 127.0.0.1 only.
//
// Usage: node xero-connections.mjs --issuer URL [--port N] [--port-file FILE]
//   --issuer URL      the test authorization server (provider.mjs); a bearer
//                     token is valid when GET URL/me (userinfo) accepts it,
//                     so only live access tokens pass (not refresh tokens,
//                     not expired or revoked ones)
//   --port N          listen port (default 0 = ephemeral)
//   --port-file FILE  written (atomically) with the port once listening
// "ready PORT" goes to stdout once listening.
//
// Routes:
//   GET /connections   200 with the tenants below in Xero's format (a JSON
//                      array of {id, authEventId, tenantId, tenantType,
//                      tenantName, createdDateUtc, updatedDateUtc}); 401 with
//                      a Xero-style problem body for a missing or bad token
//   GET /api.xro/2.0/Organisation
//                      like Xero's accounting API: needs a valid token AND a
//                      Xero-Tenant-Id header naming a connected tenant (403
//                      otherwise); answers {"Organisations":[{"OrganisationID",
//                      "Name"}]} for that tenant
//   anything else      404
//
// Environment:
//   SPK_XERO_LOG       JSON-lines file, one line per request (appended
//                      synchronously before the answer is sent): ts, method,
//                      path, status, sub (whose token), tenant (the
//                      Xero-Tenant-Id header, if any). Never a token.
//   SPK_XERO_TENANTS   JSON array of {tenantId, tenantName[, tenantType]} to
//                      serve instead of the two default tenants
import fs from 'node:fs';
import http from 'node:http';
import process from 'node:process';

import { serveLoopback } from './serve.mjs';

function usage(msg) {
  process.stderr.write(`xero-connections.mjs: ${msg}\n`
    + 'usage: node xero-connections.mjs --issuer URL [--port N] [--port-file FILE]\n');
  process.exit(64);
}

let port = 0;
let portFile = '';
let issuer = '';
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 1) {
  const a = argv[i];
  if (a === '--port') port = Number(argv[++i]);
  else if (a === '--port-file') portFile = argv[++i];
  else if (a === '--issuer') issuer = argv[++i];
  else usage(`unknown argument ${a}`);
}
if (!Number.isInteger(port) || port < 0 || port > 65535) usage('bad --port');
if (!/^http:\/\/127\.0\.0\.1:\d+$/.test(issuer || '')) usage('--issuer http://127.0.0.1:PORT is required');

const LOG = process.env.SPK_XERO_LOG || '';

// Two organisations, as Xero lists them for a user who connected both.
const DEFAULT_TENANTS = [
  { tenantId: '1f9b6c4e-2d3a-4b5c-8d7e-6f5a4b3c2d1e', tenantName: 'Demo Company (AU)' },
  { tenantId: 'a7c3e5d1-9b8f-4e6a-b2c4-d6e8f0a1b3c5', tenantName: 'Demo Company (NZ)' },
];
let tenants = DEFAULT_TENANTS;
if (process.env.SPK_XERO_TENANTS) {
  try {
    tenants = JSON.parse(process.env.SPK_XERO_TENANTS);
    if (!Array.isArray(tenants)) throw new Error('not an array');
  } catch (e) {
    usage(`SPK_XERO_TENANTS is not a JSON array: ${e.message}`);
  }
}
const connections = tenants.map((t, i) => ({
  id: `c0000000-0000-4000-8000-00000000000${i + 1}`,
  authEventId: `e0000000-0000-4000-8000-00000000000${i + 1}`,
  tenantId: t.tenantId,
  tenantType: t.tenantType || 'ORGANISATION',
  tenantName: t.tenantName,
  createdDateUtc: '2026-11-01T09:30:00.1833130',
  updatedDateUtc: `2026-11-2${i}T10:15:13.8491980`,
}));

function logRequest(obj) {
  if (!LOG) return;
  fs.appendFileSync(LOG, `${JSON.stringify({ ts: Date.now() / 1000, ...obj })}\n`);
}

// The token's subject if the authorization server accepts it as a live
// access token, else null.
async function whoseToken(req) {
  const m = /^Bearer ([\x21-\x7e]+)$/.exec(req.headers.authorization || '');
  if (!m) return null;
  try {
    const r = await fetch(`${issuer}/me`, { headers: { authorization: `Bearer ${m[1]}` } });
    if (r.status !== 200) return null;
    const body = await r.json();
    return typeof body.sub === 'string' ? body.sub : null;
  } catch {
    return null;
  }
}

function send(res, status, body, extra = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    ...extra,
  });
  res.end(text);
}

const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, 'http://127.0.0.1');
  const tenantHeader = req.headers['xero-tenant-id'];
  const entry = { method: req.method, path: url.pathname };
  if (tenantHeader !== undefined) entry.tenant = tenantHeader;
  const answer = (status, body, extra) => {
    logRequest({ ...entry, status });
    send(res, status, body, extra);
  };

  const known = url.pathname === '/connections' || url.pathname === '/api.xro/2.0/Organisation';
  if (!known) return answer(404, { Title: 'Not Found', Status: 404 });
  if (req.method !== 'GET') return answer(405, { Title: 'Method Not Allowed', Status: 405 }, { allow: 'GET' });

  const sub = await whoseToken(req);
  entry.sub = sub;
  if (!sub) {
    return answer(401, {
      Type: null, Title: 'Unauthorized', Status: 401, Detail: 'TokenInvalid', Instance: null,
    }, { 'www-authenticate': 'Bearer error="invalid_token"' });
  }
  if (url.pathname === '/connections') return answer(200, connections);

  const t = connections.find((c) => c.tenantId === tenantHeader);
  if (!t) {
    return answer(403, {
      Type: null, Title: 'Forbidden', Status: 403, Detail: 'AuthenticationUnsuccessful', Instance: null,
    });
  }
  return answer(200, { Organisations: [{ OrganisationID: t.tenantId, Name: t.tenantName }] });
});

serveLoopback(server, {
  name: 'xero-connections.mjs',
  port,
  portFile,
  onListening: (actual) => {
    process.stderr.write(`xero-connections.mjs: http://127.0.0.1:${actual}, issuer ${issuer}, `
      + `${connections.length} tenants\n`);
  },
});
