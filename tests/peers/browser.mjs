#!/usr/bin/env node
// A real browser for sparekey's integration tests: Debian's headless
// Chromium driven by playwright-core. Opens the authorization URL, signs in
// on oidc-provider's development login page, consents, and waits until it
// lands on the loopback callback page that sparekey serves.
//
// Usage: node browser.mjs URL      (normally started by the `browser` wrapper)
//
// Environment:
//   SPK_BROWSER_RESULT   JSON result file, written atomically when done
//                        (default: none). Fields: ok, url, status, title, text,
//                        error, attempted_url (on failure), steps, user, action, elapsed_ms.
//   SPK_BROWSER_USER     login name to type (default "alice"); it becomes `sub`
//   SPK_BROWSER_ACTION   "consent" (default) or "deny" (press Cancel on the
//                        consent page: the provider redirects with
//                        error=access_denied)
//   SPK_BROWSER_TIMEOUT  overall deadline in seconds (default 45)
//   SPK_CHROMIUM         browser executable (default /usr/bin/chromium)
//
// Exit status: 0 when a page outside the authorization server was reached and
// answered (even with an HTTP error status: the result file tells), 1 on any
// failure (logged on stderr and recorded in the result file).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import process from 'node:process';

import { chromium } from 'playwright-core';

const t0 = Date.now();
const url = process.argv[2];
const resultFile = process.env.SPK_BROWSER_RESULT || '';
const user = process.env.SPK_BROWSER_USER || 'alice';
const action = process.env.SPK_BROWSER_ACTION || 'consent';
const timeoutMs = Number(process.env.SPK_BROWSER_TIMEOUT || 45) * 1000;
const executablePath = process.env.SPK_CHROMIUM || '/usr/bin/chromium';

const steps = [];
function log(msg) {
  const line = `browser.mjs[${process.pid}] +${Date.now() - t0}ms: ${msg}`;
  steps.push(line);
  process.stderr.write(`${line}\n`);
}

function writeResult(result) {
  const full = {
    ...result, user, action, steps, elapsed_ms: Date.now() - t0,
  };
  if (!resultFile) return;
  const tmp = path.join(path.dirname(resultFile), `.${path.basename(resultFile)}.${process.pid}`);
  fs.writeFileSync(tmp, `${JSON.stringify(full, null, 2)}\n`);
  fs.renameSync(tmp, resultFile);
}

if (!url || process.argv.length !== 3) {
  log(`usage: browser.mjs URL (got ${JSON.stringify(process.argv.slice(2))})`);
  writeResult({ ok: false, error: 'usage: browser.mjs URL' });
  process.exit(1);
}
if (!['consent', 'deny'].includes(action)) {
  log(`unknown SPK_BROWSER_ACTION ${action}`);
  writeResult({ ok: false, error: `unknown SPK_BROWSER_ACTION ${action}` });
  process.exit(1);
}

let startOrigin;
try {
  startOrigin = new URL(url).origin;
} catch (e) {
  log(`not a URL: ${url}`);
  writeResult({ ok: false, error: `not a URL: ${url}` });
  process.exit(1);
}

const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'spk-browser-'));
const userDataDir = path.join(tmpRoot, 'profile');
const chromeHome = path.join(tmpRoot, 'home');
fs.mkdirSync(chromeHome);

let context;
let finished = false;

async function cleanup() {
  try { if (context) await context.close(); } catch { /* already gone */ }
  fs.rmSync(tmpRoot, { recursive: true, force: true });
}

async function finish(code, result) {
  if (finished) return;
  finished = true;
  writeResult(result);
  await cleanup();
  process.exit(code);
}

const deadline = setTimeout(() => {
  log(`timed out after ${timeoutMs} ms`);
  let current;
  try { current = context?.pages()[0]?.url(); } catch { /* ignore */ }
  finish(1, { ok: false, error: `timed out after ${timeoutMs} ms`, url: current });
}, timeoutMs);
deadline.unref();

for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP']) {
  process.on(sig, () => {
    log(`killed by ${sig}`);
    finish(1, { ok: false, error: `killed by ${sig}` });
  });
}

async function pageSnapshot(page) {
  let title = '';
  let text = '';
  try { title = await page.title(); } catch { /* ignore */ }
  try { text = (await page.locator('body').innerText({ timeout: 2000 })).trim(); } catch { /* ignore */ }
  return { title, text };
}

async function main() {
  log(`opening ${url.replace(/([?&](state|nonce|code_challenge)=)[^&]*/g, '$1…')}`);
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath,
    headless: true,
    env: { ...process.env, HOME: chromeHome },
    handleSIGINT: false,
    handleSIGTERM: false,
    handleSIGHUP: false,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-dev-shm-usage',
      // Nothing but loopback: every other host name fails to resolve.
      '--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE localhost , EXCLUDE 127.0.0.1',
    ],
  });
  const page = context.pages()[0] || await context.newPage();
  page.setDefaultTimeout(timeoutMs);

  // The last main-frame document response, for the final HTTP status.
  let lastNav = null;
  let lastNavRequest = null;
  page.on('request', (req) => {
    if (req.isNavigationRequest() && req.frame() === page.mainFrame()) lastNavRequest = req.url();
  });
  page.on('response', (resp) => {
    const req = resp.request();
    if (req.isNavigationRequest() && req.frame() === page.mainFrame()) lastNav = resp;
  });
  page.on('requestfailed', (req) => {
    log(`request failed: ${req.method()} ${new URL(req.url()).origin}${new URL(req.url()).pathname}: ${req.failure()?.errorText}`);
  });

  const outside = (u) => {
    try { return new URL(u).origin !== startOrigin; } catch { return false; }
  };

  // Navigate, then step through the provider's pages until we leave its origin.
  let navError = null;
  try {
    await page.goto(url, { waitUntil: 'load' });
  } catch (e) {
    navError = e;
  }

  for (let i = 0; i < 10 && !navError; i += 1) {
    const current = page.url();
    if (outside(current)) break;
    const loginInput = page.locator('input[name="login"]');
    const consentForm = page.locator('form:has(input[name="prompt"][value="consent"])');
    let click;
    if (await loginInput.count()) {
      log(`login page: signing in as ${user}`);
      await loginInput.fill(user);
      await page.locator('input[name="password"]').fill('any-password');
      click = page.locator('form:has(input[name="prompt"][value="login"]) button[type="submit"]');
    } else if (await consentForm.count()) {
      if (action === 'deny') {
        log('consent page: pressing Cancel');
        click = page.locator('a', { hasText: 'Cancel' });
      } else {
        log('consent page: pressing Continue');
        click = consentForm.locator('button[type="submit"]');
      }
    } else {
      const snap = await pageSnapshot(page);
      log(`unexpected page at ${current}: ${snap.title}: ${snap.text.slice(0, 500)}`);
      return finish(1, {
        ok: false, error: 'unexpected page on the authorization server', url: current,
        status: lastNav?.status(), ...snap,
      });
    }
    try {
      await Promise.all([
        page.waitForNavigation({ waitUntil: 'load' }),
        click.click(),
      ]);
    } catch (e) {
      navError = e;
    }
  }

  const finalUrl = page.url();
  const snap = await pageSnapshot(page);
  if (navError) {
    log(`navigation failed at ${finalUrl}: ${navError.message.split('\n')[0]}`);
    return finish(1, {
      ok: false,
      error: navError.message.split('\n')[0],
      url: finalUrl,
      attempted_url: lastNavRequest,
      status: lastNav?.status(),
      ...snap,
    });
  }
  if (!outside(finalUrl)) {
    log(`still on the authorization server at ${finalUrl}`);
    return finish(1, {
      ok: false, error: 'never left the authorization server', url: finalUrl, status: lastNav?.status(), ...snap,
    });
  }
  const status = lastNav && lastNav.url() === finalUrl ? lastNav.status() : (lastNav?.status() ?? null);
  log(`landed on ${new URL(finalUrl).origin}${new URL(finalUrl).pathname} status ${status} title ${JSON.stringify(snap.title)}`);
  return finish(0, {
    ok: true, url: finalUrl, status, ...snap,
  });
}

main().catch((e) => {
  log(`failed: ${e.stack || e}`);
  finish(1, { ok: false, error: String(e.message || e).split('\n')[0] });
});
