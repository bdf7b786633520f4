#!/usr/bin/env node
// One headless Chromium for many sparekey logins (the benchmarks sign in
// 100+ times). tests/bench/open-url, used as $BROWSER, drops each
// authorization URL into SPOOL as NAME.url; this process takes them in
// order, signs in on oidc-provider's development login page (only the first
// time: its session cookie carries the rest), consents, waits until the
// browser has left the provider (sparekey's loopback callback page), and
// writes NAME.done (JSON: ok, error, ms). It exits when SPOOL/stop appears
// or after SPK_BENCH_BROWSER_IDLE seconds without work (default 900).
//
// Usage: node browser-queue.mjs SPOOL        (SPOOL/ready appears once up)
// Env: SPK_BROWSER_USER (default alice), SPK_CHROMIUM (default /usr/bin/chromium)
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';

// playwright-core is installed (npm ci) in tests/peers, not here.
const peers = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'peers');
const { chromium } = createRequire(path.join(peers, 'package.json'))('playwright-core');

const spool = process.argv[2];
if (!spool) {
  process.stderr.write('usage: browser-queue.mjs SPOOL\n');
  process.exit(64);
}
const user = process.env.SPK_BROWSER_USER || 'alice';
const idleMs = Number(process.env.SPK_BENCH_BROWSER_IDLE || 900) * 1000;
const log = (m) => process.stderr.write(`browser-queue: ${m}\n`);
const writeAtomic = (file, text) => {
  fs.writeFileSync(`${file}.tmp`, text);
  fs.renameSync(`${file}.tmp`, file);
};

const context = await chromium.launchPersistentContext(path.join(spool, 'chromium-profile'), {
  executablePath: process.env.SPK_CHROMIUM || '/usr/bin/chromium',
  headless: true,
  env: { ...process.env, HOME: path.join(spool, 'chromium-home') },
  args: [
    '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--disable-dev-shm-usage',
    '--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE localhost , EXCLUDE 127.0.0.1',
  ],
});
const page = context.pages()[0] || await context.newPage();
page.setDefaultTimeout(30000);

async function signIn(url) {
  const origin = new URL(url).origin;
  await page.goto(url, { waitUntil: 'load' });
  for (let i = 0; i < 10; i += 1) {
    if (new URL(page.url()).origin !== origin) return;
    let click;
    if (await page.locator('input[name="login"]').count()) {
      await page.locator('input[name="login"]').fill(user);
      await page.locator('input[name="password"]').fill('any-password');
      click = page.locator('form:has(input[name="prompt"][value="login"]) button[type="submit"]');
    } else if (await page.locator('form:has(input[name="prompt"][value="consent"])').count()) {
      click = page.locator('form:has(input[name="prompt"][value="consent"]) button[type="submit"]');
    } else {
      throw new Error(`unexpected page ${new URL(page.url()).pathname}: ${await page.title()}`);
    }
    await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), click.click()]);
  }
  throw new Error('never left the authorization server');
}

writeAtomic(path.join(spool, 'ready'), `${process.pid}\n`);
let idleSince = Date.now();
for (;;) {
  if (fs.existsSync(path.join(spool, 'stop')) || Date.now() - idleSince > idleMs) break;
  const jobs = fs.readdirSync(spool).filter((f) => f.endsWith('.url')).sort();
  if (jobs.length === 0) {
    await new Promise((r) => { setTimeout(r, 20); });
    continue;
  }
  for (const job of jobs) {
    const file = path.join(spool, job);
    const url = fs.readFileSync(file, 'utf8').trim();
    fs.unlinkSync(file);
    const t0 = Date.now();
    let result;
    try {
      await signIn(url);
      result = { ok: true, ms: Date.now() - t0 };
    } catch (e) {
      result = { ok: false, error: String(e.message || e).split('\n')[0], ms: Date.now() - t0 };
      log(`${job}: ${result.error}`);
    }
    writeAtomic(file.replace(/\.url$/, '.done'), `${JSON.stringify(result)}\n`);
  }
  idleSince = Date.now();
}
await context.close();
process.exit(0);
