// What the consumer peers (git-http.mjs, kube-api.mjs, smtp.mjs,
// heartbeat.mjs) share: their command line, their request log, and the one
// question a resource server asks, "does the authorization server accept
// this access token?".
//
// A token is accepted when the test provider's userinfo endpoint
// (ISSUER/me, oidc-provider) answers 200 to it as a Bearer: it exists, has
// not expired, was not revoked, and its grant carries the openid scope (the
// integration tests log in with it). The peers ask on every request, never
// caching an answer, so an expired or revoked token is refused at once.
import fs from 'node:fs';
import process from 'node:process';

// peerArgs(name, argv, extra): --port N, --port-file FILE, --log FILE,
// --issuer URL and the options named in extra ({ '--repo-root': 'repoRoot' },
// each taking one value). Exits 64 on anything else.
export function peerArgs(name, argv, extra = {}) {
  const known = {
    '--port': 'port', '--port-file': 'portFile', '--log': 'log', '--issuer': 'issuer', ...extra,
  };
  const o = { port: 0, portFile: '', log: '', issuer: '' };
  for (let i = 0; i < argv.length; i += 1) {
    const key = known[argv[i]];
    if (!key || i + 1 >= argv.length) {
      process.stderr.write(`${name}: unknown argument or missing value: ${argv[i]}\n`);
      process.exit(64);
    }
    o[key] = argv[++i];
  }
  o.port = Number(o.port);
  if (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535) {
    process.stderr.write(`${name}: bad --port\n`);
    process.exit(64);
  }
  return o;
}

// jsonLog(file): a function appending one JSON line {ts, ...obj} to file
// (synchronously: a test reads it right after the client returns); a no-op
// without a file. Never give it a token.
export function jsonLog(file) {
  return (obj) => {
    if (file) fs.appendFileSync(file, `${JSON.stringify({ ts: Date.now() / 1000, ...obj })}\n`);
  };
}

// providerAccepts(issuer, token): resolves to { ok, status, sub }; ok only
// when ISSUER/me answered 200. A provider that cannot be reached refuses.
export async function providerAccepts(issuer, token) {
  if (!issuer || typeof token !== 'string' || !/^[\x21-\x7e]+$/.test(token)) {
    return { ok: false, status: 0 };
  }
  try {
    const res = await fetch(`${issuer}/me`, {
      headers: { authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(10000),
    });
    const body = await res.text();
    let sub;
    try {
      sub = JSON.parse(body).sub;
    } catch {
      sub = undefined;
    }
    return { ok: res.status === 200, status: res.status, sub };
  } catch {
    return { ok: false, status: 0 };
  }
}
