// What a visitor downloads, and how long until the page answers clicks:
// starts the release server on a scratch database, signs up in Chromium, and
// prints for each route the bytes on the wire (first visit with an empty
// cache, opening a tab from /account, a returning visit), what the same files
// weigh raw / gzip / brotli, and the time to interactive (the console's app
// hydrated, or a plain page's form script ran)
// under an emulated slow 4G connection. `--check` fails, with the table, when
// a budget is exceeded. Run by scripts/first-visit-bench.sh.
import { chromium } from 'playwright';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { brotliCompressSync, gzipSync, constants } from 'node:zlib';

const args = process.argv.slice(2);
const check = args.includes('--check');
// `--uncompressed`: the browser asks for no compression, as every response
// was before the server compressed (the "before" column of the README).
const CONTEXT = args.includes('--uncompressed') ? { extraHTTPHeaders: { 'accept-encoding': 'identity' } } : {};
const PORT = Number(process.env.BENCH_PORT ?? 3190);
const BASE = `http://127.0.0.1:${PORT}`;
const ROOT = resolve(import.meta.dirname, '..', '..');
const SERVER_BIN = process.env.CONSOLE_SERVER_BIN;
// Chromium's "slow 4G" preset as the issue states it: 1.6 Mbit/s down, 750 kbit/s up, 150 ms.
const SLOW_4G = { offline: false, latency: 150, downloadThroughput: (1.6e6 / 8), uploadThroughput: (750e3 / 8) };
const KB = 1024;
// Wire budgets (bytes): see the README's "First visit" section.
const BUDGETS = {
  'first visit /login': 150 * KB,
  'first visit /account': 250 * KB,
  'open a tab': 60 * KB,
  'returning visit /account': 20 * KB,
};
const TABS = ['Certificates', 'OAuth Tokens', 'JS Libraries', 'Applications', 'Integrations', 'Manage Users',
  'Account Information', 'Phone Numbers', 'Activity'];

const dataDir = mkdtempSync(join(tmpdir(), 'console-first-visit-'));
const server = spawn(SERVER_BIN, ['serve'], {
  env: {
    ...process.env, LEPTOS_ENV: 'PROD', LEPTOS_OUTPUT_NAME: 'console', LEPTOS_HASH_FILES: 'true',
    LEPTOS_SITE_ROOT: join(ROOT, 'target', 'site'), LEPTOS_SITE_ADDR: `127.0.0.1:${PORT}`,
    DATA_DIR: dataDir, DATABASE_URL: '', PUBLIC_URL: BASE, RUST_LOG: 'warn',
  },
  stdio: ['ignore', 'inherit', 'inherit'],
});
const stop = () => { server.kill('SIGTERM'); rmSync(dataDir, { recursive: true, force: true }); };

async function ready() {
  for (let i = 0; i < 200; i++) {
    try { if ((await fetch(`${BASE}/readyz`)).ok) return; } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the server did not start');
}

/**
 * Every response while `action` runs and until the network has been quiet
 * for half a second: URL, bytes on the wire, and the body as decoded. The
 * page's load state does not do: a click that opens a tab loads its module
 * without a navigation, so "networkidle" holds before the fetch ends.
 */
async function recorded(page, action) {
  const seen = [];
  let pending = 0;
  let lastChange = Date.now();
  const onRequest = () => { pending += 1; lastChange = Date.now(); };
  const onFinished = async (request) => {
    try {
      const response = await request.response();
      if (!response) return;
      const sizes = await request.sizes();
      let body = Buffer.alloc(0);
      try { body = await response.body(); } catch { /* redirects have none */ }
      seen.push({ url: request.url(), wire: sizes.responseBodySize + sizes.responseHeadersSize, body });
    } finally {
      pending -= 1;
      lastChange = Date.now();
    }
  };
  const onFailed = () => { pending -= 1; lastChange = Date.now(); };
  page.on('request', onRequest);
  page.on('requestfinished', onFinished);
  page.on('requestfailed', onFailed);
  await action();
  await page.waitForLoadState('networkidle');
  // At most 30 s: a request that never ends must not hang the bench.
  const giveUp = Date.now() + 30_000;
  while ((pending > 0 || Date.now() - lastChange < 500) && Date.now() < giveUp) {
    await new Promise((r) => setTimeout(r, 50));
  }
  page.off('request', onRequest);
  page.off('requestfinished', onFinished);
  page.off('requestfailed', onFailed);
  return seen;
}

async function interactive(page) {
  await page.waitForFunction(() => document.body.dataset.ready === 'true', null, { timeout: 120_000 });
}

function weigh(name, seen, tti) {
  const sum = (f) => seen.reduce((n, r) => n + f(r), 0);
  return {
    name,
    requests: seen.length,
    wire: sum((r) => r.wire),
    raw: sum((r) => r.body.length),
    gzip: sum((r) => (r.body.length ? gzipSync(r.body, { level: 9 }).length : 0)),
    brotli: sum((r) => (r.body.length ? brotliCompressSync(r.body, {
      params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length : 0)),
    tti,
  };
}

/** A fresh profile with an empty cache: the first visit to `path`, timed under slow 4G. */
async function firstVisit(browser, path, cookies = []) {
  const context = await browser.newContext(CONTEXT);
  await context.addCookies(cookies);
  const page = await context.newPage();
  const seen = await recorded(page, async () => { await page.goto(BASE + path); await interactive(page); });
  const slow = await browser.newContext(CONTEXT);
  await slow.addCookies(cookies);
  const slowPage = await slow.newPage();
  const cdp = await slow.newCDPSession(slowPage);
  await cdp.send('Network.enable');
  await cdp.send('Network.emulateNetworkConditions', SLOW_4G);
  const start = Date.now();
  await slowPage.goto(BASE + path);
  await interactive(slowPage);
  const tti = Date.now() - start;
  await slow.close();
  return { context, page, row: weigh(`first visit ${path}`, seen, tti) };
}

const kb = (n) => (n / KB).toFixed(1);
function table(rows) {
  const lines = ['| route | requests | on the wire KB | raw KB | gzip KB | brotli KB | slow 4G to interactive | budget KB |',
    '|---|---:|---:|---:|---:|---:|---:|---:|'];
  for (const r of rows) {
    const budget = BUDGETS[r.budget ?? r.name];
    lines.push(`| ${r.name} | ${r.requests} | ${kb(r.wire)} | ${kb(r.raw)} | ${kb(r.gzip)} | ${kb(r.brotli)} | ` +
      `${r.tti === undefined ? '' : (r.tti / 1000).toFixed(1) + ' s'} | ${budget === undefined ? '' : kb(budget)} |`);
  }
  return lines.join('\n');
}

let failed = false;
try {
  await ready();
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu'],
  });
  const rows = [];
  for (const path of ['/login', '/signup', '/forgot-password']) {
    const { context, row } = await firstVisit(browser, path);
    rows.push(row);
    await context.close();
  }

  // Sign up through the form, then visit /account with that session and an empty cache.
  const signUp = await browser.newContext(CONTEXT);
  const page = await signUp.newPage();
  await page.goto(`${BASE}/signup`);
  await interactive(page);
  await page.getByLabel('Company Name').fill('Acme Voice');
  await page.getByLabel('First Name').fill('Grace');
  await page.getByLabel('Last Name').fill('Hopper');
  await page.getByLabel('Email Address').fill(`bench.${Date.now()}@example.com`);
  await page.getByLabel('Password').fill('Velvet-Otter-Sunrise-42');
  await page.getByRole('button', { name: 'Sign Up' }).click();
  await page.waitForURL(/\/account$/);
  const cookies = await signUp.cookies();
  await signUp.close();

  const account = await firstVisit(browser, '/account', cookies);
  rows.push(account.row);
  for (const tab of TABS) {
    const seen = await recorded(account.page, async () => {
      await account.page.getByRole('link', { name: tab, exact: true }).click();
      // Each tab's heading is its label.
      await account.page.getByRole('heading', { name: tab, exact: true }).waitFor();
    });
    rows.push({ ...weigh(`open ${tab} from /account`, seen), budget: 'open a tab' });
  }
  const returning = await recorded(account.page, async () => {
    await account.page.goto(`${BASE}/account`);
    await interactive(account.page);
  });
  rows.push(weigh('returning visit /account', returning));
  await account.context.close();
  await browser.close();

  console.log(table(rows));
  const over = rows.filter((r) => BUDGETS[r.budget ?? r.name] !== undefined && r.wire > BUDGETS[r.budget ?? r.name]);
  if (over.length) {
    console.log(`\nOver budget: ${over.map((r) => `${r.name} ${kb(r.wire)} KB > ${kb(BUDGETS[r.budget ?? r.name])} KB`).join('; ')}`);
    failed = check;
  }
} catch (error) {
  console.error(error);
  failed = true;
} finally {
  stop();
}
process.exit(failed ? 1 : 0);
