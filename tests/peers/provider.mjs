#!/usr/bin/env node
// A real OAuth 2.0 / OpenID Connect authorization server for sparekey's
// integration tests: oidc-provider, listening on 127.0.0.1 only.
//
// Usage: node provider.mjs [--port N] [--port-file FILE]
//   --port N          listen port (default 0 = ephemeral; env SPK_PROVIDER_PORT)
//   --port-file FILE  written (atomically) with the port once listening
//                     (env SPK_PROVIDER_PORT_FILE)
// The issuer is http://127.0.0.1:PORT (unless SPK_ISSUER_PATH or
// SPK_ISSUER_SLASH say otherwise). "ready PORT" goes to stdout once the
// server answers requests.
//
// Environment:
//   SPK_ACCESS_TTL      access token lifetime, seconds (default 3600)
//   SPK_REFRESH_TTL     refresh token lifetime, seconds (default 14 days);
//                       it slides: each rotation starts a new lifetime
//   SPK_EVENT_LOG       JSON-lines file: one line per grant.success /
//                       grant.error / grant.revoked / authorization.* event,
//                       and an endpoint.auth event per POST to /token and
//                       /token/revocation: which client authentication it
//                       carried (auth: basic, post or none)
//   SPK_CLIENT_SECRET   secret of the confidential test clients
//                       (default "sparekey-test-secret")
//   SPK_PROVIDER_QUIET  set to 1 to suppress the per-request access log on stderr
//   SPK_TOKEN_DELAY_FILE  while this file exists and holds a number N, every
//                       answer of the token endpoint is held back N ms after
//                       the grant was issued (rotated tokens already spent):
//                       the window in which a killed client loses its grant
//   SPK_JWT_ACCESS_TOKENS  set to 1: access tokens are signed JWTs with an
//                       exp claim (resource indicators, one resource server
//                       urn:sparekey:test-api), not opaque strings
//   SPK_NO_REVOCATION   set to 1: no revocation endpoint (none in the
//                       discovery document either), like GitHub or Entra ID
//   SPK_TENANTS         JSON array served by GET /connections (default: one
//                       Xero-style organisation, "Demo Company (Test)")
//   SPK_REFRESH_GRACE   seconds (default 0 = strict: a reused refresh token
//                       revokes the whole grant, like Okta and Auth0). When
//                       N > 0, like Xero: for N seconds after a refresh token
//                       was first used successfully (refresh_token grant
//                       answered 200), the same token presented again by the
//                       same client (same client_id and the same client
//                       authentication) gets the very answer of that first
//                       use again (status and JSON body: the same new tokens)
//                       instead of reuse detection; logged as a
//                       grant.grace_replay event (no grant.success). Only
//                       while the grant lives (not after revocation or
//                       logout). After N seconds the request goes to
//                       oidc-provider as usual, which revokes the grant.
//                       SPK_TOKEN_DELAY_FILE holds replays back too.
//   --- issuer shape (RFC 8414, RFC 9207) ---
//   SPK_ISSUER_SLASH    set to 1: the issuer is published with a terminating
//                       "/" (http://127.0.0.1:PORT/, or .../PATH/ with
//                       SPK_ISSUER_PATH), in the metadata, the redirect's
//                       iss and the id_token alike
//   SPK_ISSUER_PATH     a path such as /as or /tenants/t1 (default none):
//                       the issuer is http://127.0.0.1:PORT/as and every
//                       endpoint lives below /as; the metadata is served
//                       ONLY where RFC 8414 §3.1 puts it,
//                       /.well-known/oauth-authorization-server/as. There is
//                       no openid-configuration document anywhere (404), and
//                       anything outside /as is 404 too (but /connections)
//   --- end of issuer shape ---
//   --- token answer quirks (issue 14, items 3-7) ---
//   SPK_TOKEN_QUIRKS    comma-separated rewrites of every 200 answer of
//                       /token, after oidc-provider made it (the grant is
//                       issued as usual; only the JSON body changes):
//                         no-scope               drop "scope"
//                         no-expires-in          drop "expires_in"
//                         fractional-expires-in  expires_in - 0.5 (3599.5)
//                         string-expires-in      expires_in as a string ("3600")
//                         unreadable-expires-in  expires_in "soon"
//                         lowercase-bearer       token_type "bearer"
//   SPK_ID_TOKEN_QUIRK  one of wrong-aud (aud "someone-else"), wrong-iss
//                       (iss ISSUER/elsewhere), expired (exp and iat an hour
//                       and two in the past): the id_token in /token answers
//                       is re-encoded with that claim changed, its header and
//                       (now wrong) signature kept
//   SPK_QUIRKS_FILE     while this file exists, its lines SPK_TOKEN_QUIRKS=…
//                       and SPK_ID_TOKEN_QUIRK=… replace the two above (read
//                       on every /token answer, so one provider run, and its
//                       grants, can serve several quirks in turn)
//   --- end of token answer quirks ---
//
// Besides oidc-provider's own endpoints (/auth, /token, /me, ...):
//   GET /connections    Xero's connections endpoint (organisations the grant
//                       may act on): needs a valid access token as Bearer,
//                       answers 401 otherwise; logged as a "connections" event
//
// Clients:
//   sparekey-native  native public client (PKCE), any loopback port on
//                    http://127.0.0.1/callback and http://localhost/callback
//   sparekey-exact   web public client (PKCE), exact redirect URIs
//                    http://localhost:{8749,8750,8751}/callback (like Xero)
//   sparekey-norefresh  native public client (PKCE) without the refresh_token
//                    grant: its logins get no refresh token
//   sparekey-post    native confidential client, client_secret_post
//   sparekey-basic   native confidential client, client_secret_basic
//   introspector     confidential client (client_secret_basic) for
//                    /token/introspection, /token/revocation, client_credentials
import fs from 'node:fs';
import http from 'node:http';
import process from 'node:process';
import * as querystring from 'node:querystring';

import Provider from 'oidc-provider';

import { serveLoopback } from './serve.mjs';

function usage(msg) {
  process.stderr.write(`provider.mjs: ${msg}\nusage: node provider.mjs [--port N] [--port-file FILE]\n`);
  process.exit(64);
}

let port = Number(process.env.SPK_PROVIDER_PORT || 0);
let portFile = process.env.SPK_PROVIDER_PORT_FILE || '';
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 1) {
  const a = argv[i];
  if (a === '--port') port = Number(argv[++i]);
  else if (a === '--port-file') portFile = argv[++i];
  else usage(`unknown argument ${a}`);
}
if (!Number.isInteger(port) || port < 0 || port > 65535) usage('bad --port');

function envSeconds(name, dflt, { zeroOk = false } = {}) {
  const v = process.env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || (n === 0 && !zeroOk)) {
    usage(`${name} must be a ${zeroOk ? 'non-negative' : 'positive'} integer (seconds), got ${v}`);
  }
  return n;
}

const ACCESS_TTL = envSeconds('SPK_ACCESS_TTL', 3600);
const REFRESH_TTL = envSeconds('SPK_REFRESH_TTL', 14 * 24 * 3600);
const LONG_TTL = Math.max(REFRESH_TTL, 14 * 24 * 3600) * 2;
const CLIENT_SECRET = process.env.SPK_CLIENT_SECRET || 'sparekey-test-secret';
const EVENT_LOG = process.env.SPK_EVENT_LOG || '';
const QUIET = process.env.SPK_PROVIDER_QUIET === '1';
const TOKEN_DELAY_FILE = process.env.SPK_TOKEN_DELAY_FILE || '';
const REFRESH_GRACE = envSeconds('SPK_REFRESH_GRACE', 0, { zeroOk: true });

// ---- issuer shape (SPK_ISSUER_SLASH, SPK_ISSUER_PATH) ----
const ISSUER_SLASH = process.env.SPK_ISSUER_SLASH === '1';
const ISSUER_PATH = (process.env.SPK_ISSUER_PATH || '').replace(/\/+$/, '');
if (ISSUER_PATH && !/^(\/[A-Za-z0-9._~-]+)+$/.test(ISSUER_PATH)) {
  usage(`SPK_ISSUER_PATH must be a path such as /as, got ${process.env.SPK_ISSUER_PATH}`);
}
// Where RFC 8414 §3.1 puts the metadata of an issuer with a path.
const RFC8414_METADATA = `/.well-known/oauth-authorization-server${ISSUER_PATH}`;

// The request as oidc-provider, mounted at ISSUER_PATH, must see it: the
// path below the mount in req.url, the full one in req.originalUrl (from
// which oidc-provider derives the mount path for the URLs it writes).
// Returns false for a request that is not the provider's (404).
function mountedRequest(req) {
  if (!ISSUER_PATH) return true;
  const { pathname, search } = new URL(req.url, 'http://127.0.0.1');
  let rest;
  if (pathname === RFC8414_METADATA) {
    rest = `/.well-known/openid-configuration${search}`;
  } else if (pathname.startsWith(`${ISSUER_PATH}/`)
    && pathname !== `${ISSUER_PATH}/.well-known/openid-configuration`) {
    rest = req.url.slice(ISSUER_PATH.length);
  } else {
    return false;
  }
  req.spkPath = pathname; // for the access log: the path as requested
  req.originalUrl = `${ISSUER_PATH}${rest}`;
  req.url = rest;
  return true;
}
// ---- end of issuer shape ----

function tokenDelayMs() {
  if (!TOKEN_DELAY_FILE) return 0;
  try {
    return Number(fs.readFileSync(TOKEN_DELAY_FILE, 'utf8').trim()) || 0;
  } catch {
    return 0;
  }
}
const TENANTS = process.env.SPK_TENANTS ? JSON.parse(process.env.SPK_TENANTS) : [{
  id: 'c3a0e5c4-0000-4000-8000-000000000001',
  authEventId: 'c3a0e5c4-0000-4000-8000-000000000002',
  tenantId: '8f1c2d3e-0000-4000-8000-00000000d3e0',
  tenantType: 'ORGANISATION',
  tenantName: 'Demo Company (Test)',
  createdDateUtc: '2026-01-01T00:00:00.0000000',
  updatedDateUtc: '2026-01-01T00:00:00.0000000',
}];

function logEvent(obj) {
  if (!EVENT_LOG) return;
  const line = `${JSON.stringify({ ts: Date.now() / 1000, ...obj })}\n`;
  // Synchronous append: tests read the file right after the HTTP answer.
  fs.appendFileSync(EVENT_LOG, line);
}

function errFields(err) {
  if (!err) return {};
  return {
    error: err.error || err.name || String(err),
    error_description: err.error_description,
    error_detail: err.error_detail, // the server's own reason, never sent to the client
  };
}

const nativeRedirects = ['http://127.0.0.1/callback', 'http://localhost/callback'];

const configuration = {
  clients: [
    {
      client_id: 'sparekey-native',
      client_name: 'sparekey (native)',
      application_type: 'native',
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token', 'urn:ietf:params:oauth:grant-type:device_code'],
      response_types: ['code'],
      redirect_uris: nativeRedirects,
    },
    {
      client_id: 'sparekey-exact',
      client_name: 'sparekey (exact redirect)',
      application_type: 'web',
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: [8749, 8750, 8751].map((p) => `http://localhost:${p}/callback`),
    },
    {
      client_id: 'sparekey-post',
      client_secret: CLIENT_SECRET,
      application_type: 'native',
      token_endpoint_auth_method: 'client_secret_post',
      grant_types: ['authorization_code', 'refresh_token', 'client_credentials',
        'urn:ietf:params:oauth:grant-type:device_code'],
      response_types: ['code'],
      redirect_uris: nativeRedirects,
    },
    {
      client_id: 'sparekey-basic',
      client_secret: CLIENT_SECRET,
      application_type: 'native',
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['authorization_code', 'refresh_token', 'client_credentials',
        'urn:ietf:params:oauth:grant-type:device_code'],
      response_types: ['code'],
      redirect_uris: nativeRedirects,
    },
    {
      // No refresh_token grant: logins get no refresh token at all.
      client_id: 'sparekey-norefresh',
      client_name: 'sparekey (no refresh token)',
      application_type: 'native',
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code'],
      response_types: ['code'],
      redirect_uris: nativeRedirects,
    },
    {
      client_id: 'introspector',
      client_secret: CLIENT_SECRET,
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
    },
  ],
  scopes: ['openid', 'offline_access', 'profile', 'email', 'accounting.invoices', 'accounting.contacts'],
  claims: {
    openid: ['sub'],
    profile: ['name', 'preferred_username'],
    email: ['email', 'email_verified'],
  },
  async findAccount(ctx, id) {
    return {
      accountId: id,
      async claims() {
        return {
          sub: id, name: id, preferred_username: id, email: `${id}@example.test`, email_verified: true,
        };
      },
    };
  },
  clockTolerance: 0,
  pkce: { methods: ['S256'], required: () => true },
  rotateRefreshToken: true,
  // Refresh tokens for every client allowed to use them, with or without
  // offline_access in the granted scope.
  async issueRefreshToken(ctx, client) {
    return client.grantTypeAllowed('refresh_token');
  },
  ttl: {
    AccessToken: ACCESS_TTL,
    ClientCredentials: ACCESS_TTL,
    RefreshToken: REFRESH_TTL,
    IdToken: 3600,
    AuthorizationCode: 60,
    DeviceCode: 600,
    Interaction: 3600,
    Session: LONG_TTL,
    Grant: LONG_TTL,
  },
  cookies: { keys: ['sparekey-test-cookie-key-not-secret'] },
  features: {
    devInteractions: { enabled: true },
    userinfo: { enabled: true },
    introspection: { enabled: true },
    // SPK_NO_REVOCATION=1: a provider without RFC 7009 (GitHub, Entra ID)
    revocation: { enabled: process.env.SPK_NO_REVOCATION !== '1' },
    deviceFlow: { enabled: true },
    clientCredentials: { enabled: true },
    // SPK_JWT_ACCESS_TOKENS=1: access tokens are JWTs (RFC 9068) for one
    // resource server, as many providers issue them
    ...(process.env.SPK_JWT_ACCESS_TOKENS === '1' ? {
      resourceIndicators: {
        enabled: true,
        defaultResource: () => 'urn:sparekey:test-api',
        useGrantedResource: () => true,
        getResourceServerInfo: () => ({
          scope: 'openid offline_access profile email accounting.invoices accounting.contacts',
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'HS256', key: Buffer.from('sparekey-test-jwt-key-not-a-secret') } },
        }),
      },
    } : {}),
  },
  async renderError(ctx, out) {
    ctx.type = 'html';
    const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
    ctx.body = `<!DOCTYPE html><html><head><meta charset="utf-8"><title>oops! something went wrong</title></head>
<body><h1>oops! something went wrong</h1>${Object.entries(out).map(([k, v]) => `<pre><strong>${esc(k)}</strong>: ${esc(v)}</pre>`).join('')}</body></html>`;
  },
};

// SPK_REFRESH_GRACE: answers of successful refresh_token grants, by the
// refresh token presented: { at (ms), clientId, auth, status, body }.
// auth is the client authentication the request carried (Authorization
// header, client_secret), compared on a replay; nothing of it is logged.
const graceAnswers = new Map();
const BODY_LIMIT = 56 * 1024; // oidc-provider's own limit for form bodies

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let n = 0;
    req.on('data', (c) => {
      n += c.length;
      if (n <= BODY_LIMIT) chunks.push(c);
    });
    req.on('end', () => (n <= BODY_LIMIT ? resolve(Buffer.concat(chunks)) : reject(new Error('body too large'))));
    req.on('error', reject);
  });
}

// The client a token request names: Basic user name, else client_id.
function presentedClient(ctx, params) {
  const m = /^basic\s+(\S+)$/i.exec(ctx.headers.authorization || '');
  if (m) {
    const dec = Buffer.from(m[1], 'base64').toString('utf8');
    const i = dec.indexOf(':');
    try {
      return decodeURIComponent((i < 0 ? dec : dec.slice(0, i)).replace(/\+/g, ' '));
    } catch {
      return undefined;
    }
  }
  return typeof params.client_id === 'string' ? params.client_id : undefined;
}

function graceReplay(provider) {
  const windowMs = REFRESH_GRACE * 1000;
  return async (ctx, next) => {
    if (ctx.method !== 'POST' || ctx.path !== '/token' || !ctx.is('application/x-www-form-urlencoded')) {
      await next();
      return;
    }
    let raw;
    try {
      raw = await readBody(ctx.req);
    } catch {
      ctx.status = 400;
      ctx.set('cache-control', 'no-store');
      ctx.body = { error: 'invalid_request', error_description: 'failed to parse the request body' };
      return;
    }
    ctx.req.body = raw; // for oidc-provider: the stream is spent
    const params = querystring.parse(raw.toString('utf8'));
    const rt = params.grant_type === 'refresh_token' && typeof params.refresh_token === 'string'
      ? params.refresh_token : undefined;
    const auth = `${ctx.headers.authorization || ''}\n${params.client_secret ?? ''}`;

    const now = Date.now();
    for (const [k, v] of graceAnswers) if (now - v.at >= windowMs) graceAnswers.delete(k);

    const seen = rt !== undefined ? graceAnswers.get(rt) : undefined;
    if (seen && seen.clientId === presentedClient(ctx, params) && seen.auth === auth
      // the grant still lives (not revoked, no logout): spent, but known
      && await provider.RefreshToken.find(rt, { ignoreExpiration: true })) {
      ctx.state.spkGraceReplay = { clientId: seen.clientId, post: params.client_secret !== undefined };
      logEvent({ event: 'grant.grace_replay', grant_type: 'refresh_token', client_id: seen.clientId });
      ctx.status = seen.status;
      ctx.set('cache-control', 'no-store');
      ctx.type = 'application/json';
      ctx.body = seen.body;
      return;
    }

    await next();

    if (rt !== undefined && ctx.status === 200 && ctx.oidc?.client && !graceAnswers.has(rt)) {
      graceAnswers.set(rt, {
        at: Date.now(),
        clientId: ctx.oidc.client.clientId,
        auth,
        status: ctx.status,
        body: typeof ctx.body === 'string' ? ctx.body : JSON.stringify(ctx.body),
      });
    }
  };
}

// --- token answer quirks (SPK_TOKEN_QUIRKS, SPK_ID_TOKEN_QUIRK, SPK_QUIRKS_FILE) ---
const TOKEN_QUIRK_NAMES = ['no-scope', 'no-expires-in', 'fractional-expires-in', 'string-expires-in',
  'unreadable-expires-in', 'lowercase-bearer'];
const ID_TOKEN_QUIRK_NAMES = ['wrong-aud', 'wrong-iss', 'expired'];

function parseQuirks(tokens, idToken, where) {
  const list = (tokens || '').split(',').map((q) => q.trim()).filter(Boolean);
  for (const q of list) {
    if (!TOKEN_QUIRK_NAMES.includes(q)) usage(`${where}: unknown SPK_TOKEN_QUIRKS entry ${q}`);
  }
  if (idToken && !ID_TOKEN_QUIRK_NAMES.includes(idToken)) {
    usage(`${where}: SPK_ID_TOKEN_QUIRK must be one of ${ID_TOKEN_QUIRK_NAMES.join(', ')}`);
  }
  return { tokens: new Set(list), idToken: idToken || '' };
}

const QUIRKS_FILE = process.env.SPK_QUIRKS_FILE || '';
const ENV_QUIRKS = parseQuirks(process.env.SPK_TOKEN_QUIRKS, process.env.SPK_ID_TOKEN_QUIRK, 'environment');

function currentQuirks() {
  let text;
  try {
    text = QUIRKS_FILE ? fs.readFileSync(QUIRKS_FILE, 'utf8') : undefined;
  } catch {
    text = undefined;
  }
  if (text === undefined) return ENV_QUIRKS;
  const v = {};
  for (const line of text.split('\n')) {
    const m = /^(SPK_TOKEN_QUIRKS|SPK_ID_TOKEN_QUIRK)=(.*)$/.exec(line.trim());
    if (m) v[m[1]] = m[2];
  }
  return parseQuirks(v.SPK_TOKEN_QUIRKS, v.SPK_ID_TOKEN_QUIRK, QUIRKS_FILE);
}

const b64url = (buf) => Buffer.from(buf).toString('base64url');

// The id_token with one claim changed; sparekey does not check signatures.
function quirkIdToken(jwt, quirk, issuer) {
  const [header, payload, sig] = jwt.split('.');
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  const now = Math.floor(Date.now() / 1000);
  if (quirk === 'wrong-aud') claims.aud = 'someone-else';
  if (quirk === 'wrong-iss') claims.iss = `${issuer}/elsewhere`;
  if (quirk === 'expired') Object.assign(claims, { iat: now - 7200, exp: now - 3600 });
  return `${header}.${b64url(JSON.stringify(claims))}.${sig}`;
}

function tokenQuirks(issuer) {
  return async (ctx, next) => {
    await next();
    if (ctx.method !== 'POST' || ctx.path !== '/token' || ctx.status !== 200) return;
    const q = currentQuirks();
    if (q.tokens.size === 0 && !q.idToken) return;
    const body = typeof ctx.body === 'string' ? JSON.parse(ctx.body) : { ...ctx.body };
    const t = q.tokens;
    if (t.has('no-scope')) delete body.scope;
    if (typeof body.expires_in === 'number') {
      if (t.has('fractional-expires-in')) body.expires_in -= 0.5;
      if (t.has('string-expires-in')) body.expires_in = String(body.expires_in);
    }
    if (t.has('unreadable-expires-in')) body.expires_in = 'soon';
    if (t.has('no-expires-in')) delete body.expires_in;
    if (t.has('lowercase-bearer') && typeof body.token_type === 'string') {
      body.token_type = body.token_type.toLowerCase();
    }
    if (q.idToken && typeof body.id_token === 'string') {
      body.id_token = quirkIdToken(body.id_token, q.idToken, issuer);
    }
    logEvent({ event: 'token.quirks', quirks: [...t], id_token: q.idToken || undefined });
    ctx.body = body;
  };
}
// --- end of token answer quirks ---

const server = http.createServer();

// Set up once the port, and with it the issuer, is known; "ready" follows.
function onListening(actual) {
  const issuer = `http://127.0.0.1:${actual}${ISSUER_PATH}${ISSUER_SLASH ? '/' : ''}`;
  const provider = new Provider(issuer, configuration);

  // Access log (path only: query strings carry codes) and removal of the
  // @import of web fonts from the built-in HTML pages, so a browser never
  // waits on the network.
  provider.use(async (ctx, next) => {
    const t0 = Date.now();
    await next();
    if (typeof ctx.body === 'string' && /html/.test(ctx.type || '')) {
      ctx.body = ctx.body.replace(/@import url\([^)]*\);?/g, '');
    }
    if (!QUIET) {
      process.stderr.write(`provider: ${ctx.method} ${ctx.req.spkPath ?? ctx.path} -> ${ctx.status} (${Date.now() - t0} ms)\n`);
    }
  });

  // SPK_TOKEN_DELAY_FILE: the answer waits; the grant is already issued.
  provider.use(async (ctx, next) => {
    await next();
    const ms = ctx.method === 'POST' && ctx.path === '/token' ? tokenDelayMs() : 0;
    if (ms > 0) await new Promise((resolve) => { setTimeout(resolve, ms); });
  });

  // How the client authenticated at the token and revocation endpoints
  // (basic: an Authorization header; post: client_secret in the body;
  // none), logged as an "endpoint.auth" event.
  provider.use(async (ctx, next) => {
    await next();
    if (ctx.method === 'POST' && ['/token', '/token/revocation'].includes(ctx.path)) {
      const basic = /^basic /i.test(ctx.headers.authorization || '');
      // A grace replay (SPK_REFRESH_GRACE) never reaches oidc-provider.
      const replay = ctx.state.spkGraceReplay;
      const post = ctx.oidc?.params?.client_secret !== undefined || replay?.post === true;
      logEvent({
        event: 'endpoint.auth',
        path: ctx.path,
        auth: basic ? 'basic' : post ? 'post' : 'none',
        client_id: ctx.oidc?.client?.clientId ?? replay?.clientId,
        status: ctx.status,
      });
    }
  });

  // SPK_REFRESH_GRACE: Xero's grace period for a spent refresh token. The
  // body of POST /token is read here, before oidc-provider sees it; when
  // the request is not answered from memory, oidc-provider gets the body in
  // req.body (its selective_body.js falls back to that once the stream was
  // consumed; it warns once about an "already parsed request body").
  if (REFRESH_GRACE > 0) provider.use(graceReplay(provider));

  // --- token answer quirks (SPK_TOKEN_QUIRKS, SPK_ID_TOKEN_QUIRK, SPK_QUIRKS_FILE) ---
  // After graceReplay in the chain: a replayed answer is the rewritten one.
  provider.use(tokenQuirks(issuer));
  // --- end of token answer quirks ---

  provider.on('grant.success', (ctx) => {
    logEvent({
      event: 'grant.success',
      grant_type: ctx.oidc.params?.grant_type,
      client_id: ctx.oidc.client?.clientId,
      account: ctx.oidc.account?.accountId,
    });
  });
  provider.on('grant.error', (ctx, err) => {
    logEvent({
      event: 'grant.error',
      grant_type: ctx.oidc.params?.grant_type,
      client_id: ctx.oidc.client?.clientId,
      ...errFields(err),
    });
  });
  provider.on('grant.revoked', (ctx, grantId) => {
    logEvent({ event: 'grant.revoked', client_id: ctx?.oidc?.client?.clientId, grant_id: grantId });
  });
  provider.on('authorization.success', (ctx) => {
    logEvent({
      event: 'authorization.success',
      client_id: ctx.oidc.client?.clientId,
      redirect_uri: ctx.oidc.params?.redirect_uri,
    });
  });
  provider.on('authorization.error', (ctx, err) => {
    logEvent({
      event: 'authorization.error',
      client_id: ctx.oidc?.client?.clientId,
      redirect_uri: ctx.oidc?.params?.redirect_uri,
      ...errFields(err),
    });
  });
  for (const ev of ['userinfo.error', 'introspection.error', 'revocation.error', 'discovery.error',
    'server_error']) {
    provider.on(ev, (ctx, err) => logEvent({ event: ev, ...errFields(err) }));
  }

  // Xero's connections endpoint, with the bearer checked like /me does.
  async function connections(req, res) {
    const m = /^Bearer ([^\s]+)$/.exec(req.headers.authorization || '');
    const token = m ? await provider.AccessToken.find(m[1]) : undefined;
    const ok = req.method === 'GET' && token && !token.isExpired;
    logEvent({ event: 'connections', status: ok ? 200 : 401, client_id: token?.clientId });
    if (!QUIET) process.stderr.write(`provider: ${req.method} /connections -> ${ok ? 200 : 401}\n`);
    if (!ok) {
      res.writeHead(401, { 'content-type': 'application/json', 'www-authenticate': 'Bearer error="invalid_token"' });
      res.end(JSON.stringify({ Type: null, Title: 'Unauthorized', Status: 401 }));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(TENANTS));
  }
  const oidc = provider.callback();
  server.on('request', (req, res) => {
    if (new URL(req.url, issuer).pathname === '/connections') {
      connections(req, res).catch((e) => {
        res.writeHead(500);
        res.end(String(e));
      });
      return;
    }
    // SPK_ISSUER_PATH: only the mounted provider and its RFC 8414 metadata.
    if (!mountedRequest(req)) {
      if (!QUIET) process.stderr.write(`provider: ${req.method} ${new URL(req.url, issuer).pathname} -> 404 (SPK_ISSUER_PATH=${ISSUER_PATH})\n`);
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: 'not_found' }));
      return;
    }
    oidc(req, res);
  });

  process.stderr.write(`provider.mjs: issuer ${issuer}, access ttl ${ACCESS_TTL}s, refresh ttl ${REFRESH_TTL}s`
    + `${REFRESH_GRACE > 0 ? `, refresh grace ${REFRESH_GRACE}s` : ''}\n`);
}

serveLoopback(server, { name: 'provider.mjs', port, portFile, onListening });
