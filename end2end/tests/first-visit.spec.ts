import { expect, Page, test } from '@playwright/test';
import { ready, PASSWORD, signUp, uniqueEmail } from './helpers';

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
];

/** Everything the browser reports while the test runs: console lines, page errors, failed requests. */
function watch(page: Page): string[] {
  const problems: string[] = [];
  // Verbose lines are Chromium's hints (hidden by DevTools' default levels), not errors.
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
    await ready(page);
  }
  await signUp(page, uniqueEmail('console'));
  await page.waitForLoadState('networkidle');
  for (const path of TABS) {
    await page.goto(path);
    await ready(page);
    // A tab asks for more once hydrated (the Account tab, a pending email
    // change): leaving before the answer would cancel it, which the browser
    // reports as a failed request no user meets.
    await page.waitForLoadState('networkidle');
  }
  expect(problems).toEqual([]);

  const icon = await page.request.get('/favicon.ico');
  expect(icon.status()).toBe(200);
  const manifest = await (await page.request.get('/manifest.webmanifest')).json();
  expect(manifest.theme_color).toBe('#1f5fbf');
  for (const { src } of manifest.icons) expect((await page.request.get(src)).status(), src).toBe(200);
});

test('the pages before signing in load no app code; the console loads it compressed, under hashed names kept a year', async ({ page }) => {
  const outputs: { url: string; encoding?: string; cache?: string }[] = [];
  page.on('response', (response) => {
    if (new URL(response.url()).pathname.startsWith('/pkg/')) {
      const headers = response.headers();
      outputs.push({ url: response.url(), encoding: headers['content-encoding'], cache: headers['cache-control'] });
    }
  });
  const kinds = () => outputs.map(({ url }) => url.split('.').pop()).sort();
  const login = await page.goto('/login');
  await ready(page);
  expect(login!.headers()['cache-control']).toBe('no-store');
  // Pages are compressed on the fly, zstd first when the browser takes it
  // (Chromium does on https and localhost); static files were compressed
  // at build time, with brotli and gzip only.
  const encoding = login!.headers()['content-encoding'];
  expect(['zstd', 'br', 'gzip']).toContain(encoding);
  const staticEncoding = encoding === 'zstd' ? 'br' : encoding;
  for (const path of ['/signup', '/forgot-password']) {
    await page.goto(path);
    await ready(page);
  }
  expect(kinds().length).toBeGreaterThan(0);
  expect(kinds().filter((kind) => kind !== 'css'), 'no js or wasm').toEqual([]);

  // The sign-up form is sent in place: an error shows beside its field, what
  // was typed stays, and the page is not reloaded until the account exists.
  await page.goto('/signup');
  await ready(page);
  await page.evaluate(() => ((window as any).__sameDocument = true));
  await page.getByLabel('Company Name').fill('Acme Voice');
  await page.getByLabel('First Name').fill('Grace');
  await page.getByLabel('Email Address').fill('not-an-email');
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign Up' }).click();
  await expect(page.locator('#email-error')).toHaveText('Enter an email address like name@example.com.');
  await expect(page.locator('#last_name-error')).toHaveText('Last Name is required.');
  await expect(page.getByLabel('Email Address')).toHaveAttribute('aria-invalid', 'true');
  await expect(page.getByLabel('Last Name'), 'the first field to mend').toBeFocused();
  expect(await page.evaluate(() => (window as any).__sameDocument)).toBe(true);
  await expect(page.getByLabel('Company Name')).toHaveValue('Acme Voice');
  await expect(page.getByLabel('Password')).toHaveValue(PASSWORD);
  await page.getByLabel('Last Name').fill('Hopper');
  await expect(page.locator('#last_name-error'), 'gone once the field is mended').toHaveText('');
  await expect(page.locator('#email-error'), 'the other field keeps its own').toHaveText('Enter an email address like name@example.com.');
  await page.getByLabel('Email Address').fill(uniqueEmail('outputs'));
  await page.getByRole('button', { name: 'Sign Up' }).click();
  await expect(page).toHaveURL(/\/account$/);
  await ready(page);
  await expect(page.getByRole('heading', { name: 'My Account' })).toBeVisible();

  expect([...new Set(kinds())]).toEqual(['css', 'js', 'wasm']);
  for (const output of outputs) {
    expect(output.url, 'named by content hash').toMatch(/\/pkg\/console\.[A-Za-z0-9_-]{6,}\.(css|js|wasm)$/);
    expect(output, output.url).toMatchObject({ encoding: staticEncoding, cache: 'public, max-age=31536000, immutable' });
  }
});

test('a plain page reports a lost reply without sending again, and shows a refusal naming no field above the form', async ({ page }) => {
  // The replies are stood in for: a timeout's plain text, then too many
  // attempts, which takes minutes of failed log-ins to reach for real.
  const why = 'Too many attempts. Try again in 15 minutes.';
  const replies = [
    { status: 503, contentType: 'text/plain', body: 'request timed out' },
    { status: 429, contentType: 'application/json', body: JSON.stringify({ TooManyRequests: why }) },
  ];
  let posts = 0;
  await page.route('**/fn/log_in', async (route) => {
    await route.fulfill(replies[posts]);
    posts += 1;
  });
  await page.goto('/login?next=/account/users');
  await ready(page);
  await page.evaluate(() => ((window as any).__sameDocument = true));
  await page.getByLabel('Email Address').fill('grace@example.com');
  await page.getByLabel('Password').fill('not-the-password');
  const logIn = page.getByRole('button', { name: 'Log In' });
  await logIn.click();
  await expect(page.locator('.form-status')).toHaveText('Something went wrong on our side. Please try again.');
  // A resend by itself would come within moments of the failure: wait.
  await page.waitForTimeout(3000);
  expect(posts, 'not sent again by itself').toBe(1);
  expect(await page.evaluate(() => (window as any).__sameDocument)).toBe(true);
  await expect(page.getByLabel('Password')).toHaveValue('not-the-password');
  await expect(logIn).toBeEnabled();

  await logIn.click();
  await expect(page.locator('.form-status')).toHaveText(why);
  expect(new URL(page.url()).searchParams.get('next'), 'the page keeps where to go after').toBe('/account/users');
  expect(posts).toBe(2);
  // The error is not in the URL any more: a reload shows the form afresh.
  expect(new URL(page.url()).searchParams.has('__err')).toBe(false);
  await page.reload();
  await ready(page);
  await expect(page.locator('.form-status')).toHaveText('Log in to continue: the page you asked for opens next.');
});

test.describe('before the wasm arrives', () => {
  // On a slow connection a page is painted seconds before its wasm has
  // loaded. The forms a visit starts with are plain HTML forms the server
  // answers by redirecting, so they work in that time too: here with no
  // JavaScript at all.
  test.use({ javaScriptEnabled: false });

  test('sign-up, log-out and log-in work as plain forms, with errors beside their fields', async ({ page }) => {
    const email = uniqueEmail('no-js');
    await page.goto('/signup');
    const fill = async () => {
      await page.getByLabel('Company Name').fill('Acme Voice');
      await page.getByLabel('First Name').fill('Grace');
      await page.getByLabel('Last Name').fill('Hopper');
      await page.getByLabel('Password').fill(PASSWORD);
    };
    await fill();
    await page.getByLabel('Email Address').fill('not-an-email');
    await page.getByRole('button', { name: 'Sign Up' }).click();
    await expect(page.locator('#email-error')).toHaveText('Enter an email address like name@example.com.');
    await fill();
    await page.getByLabel('Email Address').fill(email);
    await page.getByRole('button', { name: 'Sign Up' }).click();
    await expect(page).toHaveURL(/\/account$/);
    await expect(page.getByRole('heading', { name: 'My Account' })).toBeVisible();
    await expect(page.locator('.topbar .name')).toHaveText('Grace Hopper');

    await page.getByRole('button', { name: 'Log Out', exact: true }).click();
    await expect(page).toHaveURL(/\/login\?logged_out=1$/);
    await page.getByLabel('Email Address').fill(email);
    await page.getByLabel('Password').fill('not-the-password');
    await page.getByRole('button', { name: 'Log In' }).click();
    await expect(page.locator('#password-error')).toHaveText('The email address or password is incorrect.');
    await expect(page).not.toHaveURL(/\/account/);
    await page.getByLabel('Email Address').fill(email);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Log In' }).click();
    await expect(page).toHaveURL(/\/account$/);
    await expect(page.locator('.topbar .name')).toHaveText('Grace Hopper');
  });
});
