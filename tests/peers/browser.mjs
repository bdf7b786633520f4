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
//                        error=access_denied); in device mode also "abort"
//                        (press Abort on the device confirmation page)
//   SPK_BROWSER_MODE     how the run ends:
//                        "redirect" (default): follow the redirect out of the
//                          authorization server, as a browser does;
//                        "intercept": stop at that redirect and do not send
//                          it: the result's url is the address the browser
//                          would have gone to (code, state, iss), and
//                          intercepted is true. For pasting it elsewhere.
//                        "device": URL is an RFC 8628 verification_uri_complete;
//                          confirm the code, sign in, consent, and stop on the
//                          server's final page ("Sign-in Success", or the page
//                          saying the request was interrupted or denied);
//                          ok is true only for "Sign-in Success".
//   SPK_BROWSER_TIMEOUT  overall deadline in seconds (default 45)
//   SPK_BROWSER_SCREENSHOT  PNG file: a screenshot of the page the run ended
//                        on (the callback page after a login), written
//                        before the result file; for test artifacts
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
const mode = process.env.SPK_BROWSER_MODE || 'redirect';
const timeoutMs = Number(process.env.SPK_BROWSER_TIMEOUT || 45) * 1000;
const screenshotFile = process.env.SPK_BROWSER_SCREENSHOT || '';
const executablePath = process.env.SPK_CHROMIUM || '/usr/bin/chromium';

const steps = [];
function log(msg) {
  const line = `browser.mjs[${process.pid}] +${Date.now() - t0}ms: ${msg}`;
  steps.push(line);
  process.stderr.write(`${line}\n`);
}

function writeResult(result) {
  const full = {
    ...result, user, action, mode, steps, elapsed_ms: Date.now() - t0,
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
if (!['consent', 'deny'].includes(action) && !(mode === 'device' && action === 'abort')) {
  log(`unknown SPK_BROWSER_ACTION ${action}`);
  writeResult({ ok: false, error: `unknown SPK_BROWSER_ACTION ${action}` });
  process.exit(1);
}
if (!['redirect', 'intercept', 'device'].includes(mode)) {
  log(`unknown SPK_BROWSER_MODE ${mode}`);
  writeResult({ ok: false, error: `unknown SPK_BROWSER_MODE ${mode}` });
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

// SPK_BROWSER_SCREENSHOT: the current page, written atomically.
async function screenshot() {
  const page = context?.pages()[0];
  if (!screenshotFile || !page) return;
  const tmp = path.join(path.dirname(screenshotFile), `.${path.basename(screenshotFile)}.${process.pid}.png`);
  try {
    fs.mkdirSync(path.dirname(screenshotFile), { recursive: true });
    await page.screenshot({ path: tmp, timeout: 5000 });
    fs.renameSync(tmp, screenshotFile);
    log(`screenshot: ${screenshotFile}`);
  } catch (e) {
    log(`screenshot failed: ${String(e.message || e).split('\n')[0]}`);
    fs.rmSync(tmp, { force: true });
  }
}

async function finish(code, result) {
  if (finished) return;
  finished = true;
  await screenshot();
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

// SPK_BROWSER_MODE=device: what the current page of the device flow is.
async function devicePageKind(page) {
  try {
    if (await page.locator('[id="op.deviceConfirmForm"]').count()) return 'confirm';
    if (await page.locator('input[name="login"]').count()) return 'login';
    if (await page.locator('form:has(input[name="prompt"][value="consent"])').count()) return 'consent';
    const title = await page.title();
    if (title === 'Submitting Callback') return 'busy'; // submits itself
    if (title) return 'final';
  } catch { /* navigating */ }
  return 'busy';
}

// SPK_BROWSER_MODE=device: step through the verification pages, which all
// stay on the authorization server, until its final page.
async function deviceMain(page, lastStatus) {
  await page.goto(url, { waitUntil: 'load' });
  for (let acted = 0; ; acted += 1) {
    let kind = 'busy';
    for (let t = 0; t < 100 && kind === 'busy'; t += 1) {
      kind = await devicePageKind(page);
      if (kind === 'busy') await page.waitForTimeout(100);
    }
    const current = page.url();
    if (kind === 'busy') {
      log(`a device page did not finish loading: ${current}`);
      return finish(1, {
        ok: false, error: 'a device page did not finish loading', url: current, ...(await pageSnapshot(page)),
      });
    }
    if (kind === 'final' || acted >= 10) {
      const snap = await pageSnapshot(page);
      const success = snap.title === 'Sign-in Success';
      log(`device flow ended at ${new URL(current).pathname}: ${JSON.stringify(snap.title)}: `
        + `${snap.text.replace(/\s+/g, ' ').slice(0, 200)}`);
      return finish(success || action !== 'consent' ? 0 : 1, {
        ok: success, url: current, status: lastStatus(), ...snap,
      });
    }
    let click;
    if (kind === 'confirm') {
      if (action === 'abort') {
        log('device confirmation page: pressing Abort');
        click = page.locator('button[name="abort"]');
      } else {
        log('device confirmation page: pressing Continue');
        click = page.locator('button[autofocus][form="op.deviceConfirmForm"]');
      }
    } else if (kind === 'login') {
      log(`login page: signing in as ${user}`);
      await page.locator('input[name="login"]').fill(user);
      await page.locator('input[name="password"]').fill('any-password');
      click = page.locator('form:has(input[name="prompt"][value="login"]) button[type="submit"]');
    } else if (action === 'deny') {
      log('consent page: pressing Cancel');
      click = page.locator('a', { hasText: 'Cancel' });
    } else {
      log('consent page: pressing Continue');
      click = page.locator('form:has(input[name="prompt"][value="consent"]) button[type="submit"]');
    }
    await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), click.click()]);
  }
}

// SPK_BROWSER_MODE=intercept: the authorization server's navigations are
// fetched here and their redirects followed here (a redirect the browser
// follows by itself is not routed again), up to the first redirect that
// leaves the server: its address is recorded and never requested.
async function interceptRedirectOut(page, onIntercept) {
  await page.route((u) => u.origin === startOrigin, async (route) => {
    const req = route.request();
    if (!req.isNavigationRequest()) return route.continue();
    let resp = await route.fetch({ maxRedirects: 0 });
    let from = req.url();
    for (let hop = 0; hop < 10; hop += 1) {
      const loc = resp.status() >= 300 && resp.status() < 400 ? resp.headers().location : undefined;
      if (!loc) break;
      const target = new URL(loc, from);
      if (target.origin !== startOrigin) {
        log(`intercepted the redirect to ${target.origin}${target.pathname}; not following it`);
        onIntercept(target.href);
        return route.fulfill({
          status: 200, contentType: 'text/html', body: '<!DOCTYPE html><title>intercepted</title><p>intercepted</p>',
        });
      }
      from = target.href;
      resp = await context.request.get(from, { maxRedirects: 0 });
    }
    return route.fulfill({ response: resp });
  });
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

  if (mode === 'device') return deviceMain(page, () => lastNav?.status());
  let intercepted = null;
  if (mode === 'intercept') {
    await interceptRedirectOut(page, (u) => { intercepted = u; });
  }

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
    if (outside(current) || intercepted) break;
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

  if (intercepted && !navError) {
    return finish(0, { ok: true, intercepted: true, url: intercepted });
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
