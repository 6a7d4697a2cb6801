import { expect, Page, test } from '@playwright/test';
import { hydrated, signUp, uniqueEmail } from './helpers';

const TABS = [
  '/account',
  '/account/certificates',
  '/account/oauth-tokens',
  '/account/js-libraries',
  '/account/applications',
  '/account/integrations',
  '/account/users',
  '/account/account-information',
  '/account/phone-numbers',
  '/account/activity',
];

// Each tab's heading: what shows that its code ran, after a direct visit or a click.
const HEADINGS: [string, string, string][] = [
  ['Account', '/account', 'User Settings'],
  ['Certificates', '/account/certificates', 'Certificates'],
  ['OAuth Tokens', '/account/oauth-tokens', 'OAuth Tokens'],
  ['JS Libraries', '/account/js-libraries', 'JS Libraries'],
  ['Applications', '/account/applications', 'Applications'],
  ['Integrations', '/account/integrations', 'Integrations'],
  ['Manage Users', '/account/users', 'Manage Users'],
  ['Account Information', '/account/account-information', 'Account Information'],
  ['Phone Numbers', '/account/phone-numbers', 'Phone Numbers'],
  ['Activity', '/account/activity', 'Activity'],
];

/** The names of the split wasm modules (`split_<route>_<n>.<hash>.wasm`) the page fetches. */
function splitsFetched(page: Page): string[] {
  const fetched: string[] = [];
  page.on('response', (response) => {
    const name = new URL(response.url()).pathname.split('/').pop()!;
    if (name.startsWith('split_')) fetched.push(name.replace(/_\d+\.[A-Za-z0-9_-]+\.wasm$/, ''));
  });
  return fetched;
}

/** Everything the browser reports while the test runs: console lines, page errors, failed requests. */
function watch(page: Page): string[] {
  const problems: string[] = [];
  // Verbose lines are Chromium's hints (hidden by DevTools' default levels); see the README's "Left".
  page.on('console', (message) => {
    if (message.type() !== 'verbose') problems.push(`console ${message.type()}: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('requestfailed', (request) => problems.push(`failed: ${request.url()} ${request.failure()?.errorText}`));
  page.on('response', (response) => {
    if (response.status() >= 400) problems.push(`${response.status()}: ${response.url()}`);
  });
  return problems;
}

test('every page loads with an empty console, its icon and no failed request', async ({ page }) => {
  const problems = watch(page);
  for (const path of ['/login', '/signup', '/forgot-password']) {
    await page.goto(path);
    await hydrated(page);
  }
  await signUp(page, uniqueEmail('console'));
  for (const path of TABS) {
    await page.goto(path);
    await hydrated(page);
  }
  expect(problems).toEqual([]);

  const icon = await page.request.get('/favicon.ico');
  expect(icon.status()).toBe(200);
  const manifest = await (await page.request.get('/manifest.webmanifest')).json();
  expect(manifest.theme_color).toBe('#1f5fbf');
  for (const { src } of manifest.icons) expect((await page.request.get(src)).status(), src).toBe(200);
});

test('the build outputs come compressed under hashed names browsers keep; pages are not kept', async ({ page }) => {
  const outputs: { url: string; encoding?: string; cache?: string }[] = [];
  page.on('response', (response) => {
    if (new URL(response.url()).pathname.startsWith('/pkg/')) {
      const headers = response.headers();
      outputs.push({ url: response.url(), encoding: headers['content-encoding'], cache: headers['cache-control'] });
    }
  });
  const login = await page.goto('/login');
  await hydrated(page);
  expect(login!.headers()['cache-control']).toBe('no-store');
  // Chromium asks for brotli over HTTPS only; this test server speaks plain HTTP.
  const encoding = login!.headers()['content-encoding'];
  expect(['br', 'gzip']).toContain(encoding);
  // The log-in page needs the shell only: no tab's split module.
  const names = outputs.map(({ url }) => url.replace(/^.*\/pkg\//, '').replace(/\.[A-Za-z0-9_-]{22}\./, '.'));
  expect(names.sort()).toEqual(['__wasm_split.js', 'console.css', 'console.js', 'console.wasm']);
  for (const output of outputs) {
    expect(output.url, 'named by content hash').toMatch(/\/pkg\/(console|__wasm_split)\.[A-Za-z0-9_-]{22}\.(css|js|wasm)$/);
    expect(output, output.url).toMatchObject({ encoding, cache: 'public, max-age=31536000, immutable' });
  }
});

test('each tab loads its own code, on a direct visit and on a click, and works', async ({ page }) => {
  const problems = watch(page);
  const fetched = splitsFetched(page);
  await signUp(page, uniqueEmail('split'));

  // A direct visit: the server renders the tab, the browser loads only that
  // tab's module (preloaded from the page's head), then hydrates.
  for (const [, path, heading] of HEADINGS) {
    fetched.length = 0;
    await page.goto(path);
    await hydrated(page);
    await expect(page.getByRole('heading', { name: heading, exact: true })).toBeVisible();
    expect(fetched, path).toHaveLength(1);
  }

  // Clicks: no page load (the marker survives), each tab appears, and the
  // code of a tab not opened before is fetched once.
  await page.goto('/account/activity');
  await hydrated(page);
  await page.evaluate(() => { (window as unknown as { stayed: boolean }).stayed = true; });
  fetched.length = 0;
  for (const [label, path, heading] of HEADINGS) {
    await page.getByRole('link', { name: label, exact: true }).click();
    await expect(page).toHaveURL(path);
    await expect(page.getByRole('heading', { name: heading, exact: true })).toBeVisible();
    await expect(page.locator('main#main')).toHaveAttribute('aria-busy', 'false');
  }
  expect(await page.evaluate(() => (window as unknown as { stayed?: boolean }).stayed)).toBe(true);
  // Nine tabs not shown in this page load before, one module each.
  expect(new Set(fetched).size).toBe(HEADINGS.length - 1);
  expect(fetched).toHaveLength(HEADINGS.length - 1);

  // A tab opened by a click still works: save a setting on the Account tab.
  await page.getByRole('link', { name: 'Account', exact: true }).click();
  await page.getByLabel('First Name').fill('Ada');
  await page.locator('form', { has: page.getByLabel('First Name') }).getByRole('button', { name: 'Save' }).click();
  await expect(page.locator('.topbar .name')).toHaveText(/^Ada /);
  expect(problems).toEqual([]);
});
