// Hostile local peers for tests/integration/test-attacks.sh: what another
// process on the machine (or a web page the browser visits) can throw at
// sparekey's loopback callback server while a login waits, and a recording
// proxy in front of the token endpoint.
//
//   node attacker.mjs storm --port P --host H --path /callback --state S --out FILE
//       one request per kind of junk (wrong path, method, Host, state, iss,
//       oversized headers, garbage...), then a burst of concurrent ones.
//       One JSON line per request in FILE: {name, status} or {name, error}.
//   node attacker.mjs slow --port P [--addr 127.0.0.1] --count N --ready FILE --stop FILE --out FILE
//       N connections that each send half a request line and stall; one the
//       server closes is opened again, until FILE --stop exists. Writes
//       --ready once all N are connected, and a summary line to --out.
//   node attacker.mjs proxy --upstream URL --port-file FILE --log FILE [--delay-ms N]
//       an HTTP proxy to URL that records every form field of each request
//       and every top-level string of each JSON answer (test secrets, so
//       that the test can look for them elsewhere), answering after N ms.
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';

const [mode, ...rest] = process.argv.slice(2);
const opt = {};
for (let i = 0; i < rest.length; i += 2) opt[rest[i].replace(/^--/, '')] = rest[i + 1];

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Send raw bytes on a fresh connection; resolve with the status code of
// the answer, or an error name when the server closed without one.
function raw(addr, port, bytes, { timeoutMs = 8000 } = {}) {
  return new Promise((resolve) => {
    const s = net.connect({ host: addr, port });
    let buf = Buffer.alloc(0);
    let done = false;
    const finish = (v) => {
      if (done) return;
      done = true;
      clearTimeout(t);
      s.destroy();
      resolve(v);
    };
    const t = setTimeout(() => finish({ error: 'timeout' }), timeoutMs);
    s.on('connect', () => s.end(bytes));
    s.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(buf.toString('latin1'));
      if (m && buf.includes('\r\n\r\n')) finish({ status: Number(m[1]) });
    });
    s.on('error', (e) => finish({ error: e.code || String(e) }));
    s.on('close', () => {
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(buf.toString('latin1'));
      finish(m ? { status: Number(m[1]) } : { error: 'closed without an answer' });
    });
  });
}

async function storm() {
  const port = Number(opt.port);
  const host = opt.host; // "127.0.0.1" or "localhost": the expected Host is host:port
  const addr = opt.addr || '127.0.0.1';
  const path = opt.path || '/callback';
  const S = opt.state;
  const H = `${host}:${port}`;
  const fake = 'SplxlOBeZQQYbYS6WxSbIA-fake-code';
  const out = fs.openSync(opt.out, 'a');
  const req = (method, target, { headers = {}, body = '', version = '1.1', hostHeader = H } = {}) => {
    const lines = [`${method} ${target} HTTP/${version}`];
    if (hostHeader !== null) lines.push(`Host: ${hostHeader}`);
    for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
    if (body) lines.push(`Content-Length: ${Buffer.byteLength(body)}`);
    lines.push('Connection: close', '', body);
    return Buffer.from(lines.join('\r\n'), 'latin1');
  };
  const big = 'x'.repeat(40 * 1024);
  const cases = [
    // name, bytes, realState (true: carries the login's real state)
    ['wrong path', req('GET', `/wrong?code=${fake}&state=${S}`), true],
    ['root path', req('GET', '/'), false],
    ['path prefix', req('GET', `${path}x?code=${fake}&state=${S}`), true],
    ['path suffix slash', req('GET', `${path}/?code=${fake}&state=${S}`), true],
    ['POST with the real state', req('POST', `${path}?code=${fake}&state=${S}`,
      { headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: `code=${fake}&state=${S}` }), true],
    ['HEAD with the real state', req('HEAD', `${path}?code=${fake}&state=${S}`), true],
    ['PUT with the real state', req('PUT', `${path}?code=${fake}&state=${S}`, { body: 'x' }), true],
    ['DELETE', req('DELETE', `${path}?code=${fake}&state=${S}`), true],
    ['OPTIONS', req('OPTIONS', '*'), false],
    ['no query', req('GET', path), false],
    ['code without state', req('GET', `${path}?code=${fake}`), false],
    ['wrong state', req('GET', `${path}?code=${fake}&state=wrong-${S.slice(6)}`), false],
    ['state prefix', req('GET', `${path}?code=${fake}&state=${S.slice(0, -1)}`), false],
    ['state plus a byte', req('GET', `${path}?code=${fake}&state=${S}A`), false],
    ['empty state', req('GET', `${path}?code=${fake}&state=`), false],
    ['state twice', req('GET', `${path}?code=${fake}&state=${S}&state=${S}`), true],
    ['code twice', req('GET', `${path}?code=${fake}&code=${fake}2&state=${S}`), true],
    ['real state, no code', req('GET', `${path}?state=${S}`), true],
    ['real state, empty code', req('GET', `${path}?code=&state=${S}`), true],
    ['real state, another issuer (RFC 9207 mix-up)',
      req('GET', `${path}?code=${fake}&state=${S}&iss=https%3A%2F%2Fevil.example.com`), true],
    ['real state, wrong Host (DNS rebinding)', req('GET', `${path}?code=${fake}&state=${S}`,
      { hostHeader: `evil.example.com:${port}` }), true],
    ['real state, Host without port', req('GET', `${path}?code=${fake}&state=${S}`,
      { hostHeader: host }), true],
    ['real state, no Host (HTTP/1.0)', req('GET', `${path}?code=${fake}&state=${S}`,
      { hostHeader: null, version: '1.0' }), true],
    ['real state, a wrong Host before the right one', req('GET', `${path}?code=${fake}&state=${S}`,
      { hostHeader: `evil.example.com:${port}`, headers: { Host: H } }), true],
    ['headers over 32 KiB', req('GET', `${path}?code=${fake}&state=wrong`, { headers: { 'X-Big': big } }), false],
    ['many headers', req('GET', `${path}?code=${fake}&state=wrong`,
      { headers: Object.fromEntries(Array.from({ length: 2000 }, (_, i) => [`X-H${i}`, 'y'.repeat(20)])) }), false],
    ['URL over 32 KiB', req('GET', `${path}?code=${fake}&state=wrong&pad=${big}`), false],
    ['HTML in the error', req('GET', `${path}?error=%3Cscript%3Ealert(1)%3C%2Fscript%3E&state=wrong`), false],
    ['binary garbage', Buffer.from([0, 1, 2, 255, 254, 13, 10, 13, 10]), false],
    ['HTTP/2 preface', Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1'), false],
    ['bare LF line ends', Buffer.from(`GET ${path}?code=${fake}&state=wrong HTTP/1.1\nHost: ${H}\n\n`, 'latin1'), false],
    ['absolute URI, wrong state', req('GET', `http://${H}${path}?code=${fake}&state=wrong`), false],
    ['chunked body', req('GET', `${path}?code=${fake}&state=wrong`,
      { headers: { 'Transfer-Encoding': 'chunked' }, body: 'ffffffff\r\nxx' }), false],
  ];
  for (const [name, bytes, realState] of cases) {
    // (what the server cannot parse may just sit until its own timeout)
    const r = await raw(addr, port, bytes, { timeoutMs: 3000 });
    fs.writeSync(out, `${JSON.stringify({ name, real_state: realState, ...r })}\n`);
  }
  // A burst: 150 requests with a wrong state, 25 at a time.
  const results = {};
  let next = 0;
  const worker = async () => {
    while (next < 150) {
      const i = next++;
      const r = await raw(addr, port, req('GET', `${path}?code=${fake}${i}&state=burst${i}`));
      const k = r.status ? String(r.status) : r.error;
      results[k] = (results[k] || 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: 25 }, worker));
  fs.writeSync(out, `${JSON.stringify({ name: 'burst of 150, wrong state', burst: results })}\n`);
  fs.closeSync(out);
}

async function slow() {
  const port = Number(opt.port);
  const addr = opt.addr || '127.0.0.1';
  const count = Number(opt.count || 100);
  let open = 0;
  let opened = 0;
  let closedByServer = 0;
  let answered = 0;
  let stopping = false;
  const sockets = new Set();
  const one = () => {
    if (stopping) return;
    const s = net.connect({ host: addr, port });
    sockets.add(s);
    s.on('connect', () => {
      s.wasOpen = true;
      open++;
      opened++;
      // Half a request line, then nothing.
      s.write('GET /callback?code=slow');
    });
    s.on('data', () => { answered++; });
    s.on('error', () => {});
    s.on('close', (hadError) => {
      sockets.delete(s);
      if (s.wasOpen) open--;
      if (!stopping) {
        closedByServer++;
        setTimeout(one, hadError ? 200 : 50);
      }
    });
  };
  for (let i = 0; i < count; i++) one();
  const t0 = Date.now();
  while (open < count && Date.now() - t0 < 10000) await sleep(20);
  fs.writeFileSync(opt.ready, `${open}\n`);
  while (!fs.existsSync(opt.stop)) await sleep(100);
  stopping = true;
  const stillOpen = open;
  for (const s of sockets) s.destroy();
  fs.writeFileSync(opt.out, `${JSON.stringify({ count, opened, still_open: stillOpen, closed_by_server: closedByServer, answered })}\n`);
  process.exit(0);
}

function proxy() {
  const upstream = opt.upstream;
  const delay = Number(opt['delay-ms'] || 0);
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      const body = Buffer.concat(chunks);
      const rec = { path: req.url.split('?')[0], form: Object.fromEntries(new URLSearchParams(body.toString('utf8'))) };
      if (req.headers.authorization) rec.authorization = req.headers.authorization;
      const target = new URL(req.url, upstream);
      const up = http.request(target, { method: req.method, headers: { ...req.headers, host: target.host } }, (ur) => {
        const rc = [];
        ur.on('data', (c) => rc.push(c));
        ur.on('end', async () => {
          const answer = Buffer.concat(rc);
          rec.status = ur.statusCode;
          try {
            const j = JSON.parse(answer.toString('utf8'));
            rec.answer = Object.fromEntries(Object.entries(j).filter(([, v]) => typeof v === 'string'));
          } catch { rec.answer = null; }
          fs.appendFileSync(opt.log, `${JSON.stringify(rec)}\n`);
          if (delay) await sleep(delay);
          res.writeHead(ur.statusCode, ur.headers);
          res.end(answer);
        });
      });
      up.on('error', () => { res.writeHead(502); res.end(); });
      up.end(body);
    });
  });
  server.listen(0, '127.0.0.1', () => {
    fs.writeFileSync(`${opt['port-file']}.tmp`, `${server.address().port}\n`);
    fs.renameSync(`${opt['port-file']}.tmp`, opt['port-file']);
  });
  process.on('SIGTERM', () => process.exit(0));
}

if (mode === 'storm') await storm();
else if (mode === 'slow') await slow();
else if (mode === 'proxy') proxy();
else {
  process.stderr.write('usage: attacker.mjs storm|slow|proxy ...\n');
  process.exit(64);
}
