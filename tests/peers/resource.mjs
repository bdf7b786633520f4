// What the consumer peers (git-http.mjs, kube-api.mjs, smtp.mjs, imap.mjs,
// heartbeat.mjs) share: their command line, their request log, the one
// question a resource server asks, "does the authorization server accept
// this access token?", and for the mail servers the SASL XOAUTH2 response
// and a line-by-line command reader.
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

// xoauth2(b64): the SASL XOAUTH2 initial response
// base64("user=U\x01auth=Bearer TOKEN\x01\x01") as { user, token }, or
// undefined.
export function xoauth2(b64) {
  const dec = Buffer.from(b64, 'base64').toString('utf8');
  const m = /^user=([^\x01]*)\x01auth=Bearer ([^\x01]+)\x01\x01$/.exec(dec);
  return m ? { user: m[1], token: m[2] } : undefined;
}

// What Gmail sends (base64 JSON, as a SASL challenge) when it refuses an
// XOAUTH2 token.
export const GMAIL_XOAUTH2_ERROR = Buffer.from(JSON.stringify({
  status: '400', schemes: 'Bearer', scope: 'https://mail.google.com/',
})).toString('base64');

// commandLines(sock, { name, onLine, tooLong, failed }): read sock's
// CRLF (or LF) lines as latin1 and call onLine(line) (may be async) one at
// a time, in order, so that a command waiting for the provider holds the
// next one back. A line over 64 KiB: write tooLong and close. onLine
// throwing: one line on stderr, write failed.
export function commandLines(sock, { name, onLine, tooLong, failed }) {
  const MAX_LINE = 64 * 1024;
  const say = (line) => { if (!sock.destroyed) sock.write(`${line}\r\n`); };
  let buf = '';
  let busy = Promise.resolve();
  sock.setEncoding('latin1');
  sock.on('data', (chunk) => {
    buf += chunk;
    if (buf.length > MAX_LINE && buf.indexOf('\n') < 0) {
      say(tooLong);
      sock.destroy();
      return;
    }
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const l = buf.slice(0, i).replace(/\r$/, '');
      buf = buf.slice(i + 1);
      busy = busy.then(() => onLine(l)).catch((e) => {
        process.stderr.write(`${name}: ${e.stack || e}\n`);
        say(failed);
      });
    }
  });
  sock.on('error', () => {});
}
