import { test, expect } from '@playwright/test';
import { execFileSync } from 'child_process';
import { createServer, Server } from 'http';
import { PROVIDER_PORT } from '../playwright.config';
import { certificate, expectAccessible, ready, operator, signUp, uniqueEmail } from './helpers';

let provider: Server;
const issuedCodes = new Set<string>();
/** The Stripe accounts /deauthorize was asked to disconnect. */
const disconnected: string[] = [];

test.beforeAll(async () => {
  // A stand-in for Stripe Connect: /authorize approves at once and sends the
  // browser back with a code; /token exchanges that code once for a token.
  provider = createServer((req, res) => {
    const url = new URL(req.url ?? '/', `http://127.0.0.1:${PROVIDER_PORT}`);
    if (url.pathname === '/authorize') {
      const code = `code_${Math.random().toString(36).slice(2)}`;
      issuedCodes.add(code);
      const back = new URL(url.searchParams.get('redirect_uri')!);
      back.searchParams.set('code', code);
      back.searchParams.set('state', url.searchParams.get('state')!);
      res.writeHead(302, { Location: back.toString() }).end();
      return;
    }
    if (url.pathname === '/deauthorize' && req.method === 'POST') {
      let body = '';
      req.on('data', (chunk) => (body += chunk));
      req.on('end', () => {
        const form = new URLSearchParams(body);
        const ok = req.headers.authorization === 'Bearer sk_test_e2e_secret' && form.get('client_id') === 'ca_e2e_test';
        if (ok) disconnected.push(form.get('stripe_user_id') ?? '');
        res.writeHead(ok ? 200 : 401, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify(ok ? { stripe_user_id: form.get('stripe_user_id') } : { error: 'invalid_client' }));
      });
      return;
    }
    if (url.pathname === '/token' && req.method === 'POST') {
      let body = '';
      req.on('data', (chunk) => (body += chunk));
      req.on('end', () => {
        const form = new URLSearchParams(body);
        const code = form.get('code') ?? '';
        const ok = form.get('client_secret') === 'sk_test_e2e_secret' && issuedCodes.delete(code);
        res.writeHead(ok ? 200 : 400, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify(ok
          ? { access_token: 'sk_test_e2e_ACCESS', refresh_token: 'rt_e2e', stripe_user_id: 'acct_e2eConnected', livemode: false, token_type: 'bearer', scope: 'read_write' }
          : { error: 'invalid_grant' }));
      });
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => provider.listen(PROVIDER_PORT, '127.0.0.1', resolve));
});

test.afterAll(async () => {
  await new Promise((resolve) => provider.close(resolve));
});

test('add a client certificate and replace it with its renewal; a key that does not match is named beside its field', async ({ page }) => {
  await signUp(page, uniqueEmail('certs'));
  await ready(page);
  await page.getByRole('navigation', { name: 'My Account sections' }).getByRole('link', { name: 'Certificates' }).click();
  await page.getByRole('button', { name: 'Add Certificate' }).click();
  const dialog = page.getByRole('dialog', { name: 'Add Certificate' });
  const mine = certificate('e2e client');
  const other = certificate('someone else');
  await dialog.getByLabel('Domain').fill('not a domain');
  await dialog.getByLabel('Certificate').fill(mine.cert);
  await dialog.getByLabel('Private Key').fill(other.key);
  await dialog.getByRole('button', { name: 'Add' }).click();
  await expect(dialog.getByText('The private key does not belong to this certificate.')).toBeVisible();
  await expect(dialog.getByText('Domain must be a host name like api.example.com.')).toBeVisible();
  // The first refused field takes the focus back from the disabled button.
  await expect(dialog.getByLabel('Domain')).toBeFocused();
  await expectAccessible(page);
  await dialog.getByLabel('Domain').fill('api.partner.example');
  await dialog.getByLabel('Private Key').fill(mine.key);
  await dialog.getByRole('button', { name: 'Add' }).click();
  await expect(dialog).toBeHidden();
  await expect(page.getByRole('cell', { name: 'api.partner.example', exact: true })).toBeVisible();
  await expect(page.getByText('The certificate for api.partner.example is added.')).toBeVisible();
  await expect(page.getByRole('cell', { name: 'CN=e2e client', exact: true }).first()).toBeVisible();
  expect(await page.content()).not.toContain(mine.key.split('\n')[1]);
  // The refused try added nothing: after a reload, one certificate (and the header row).
  await page.reload();
  await ready(page);
  await expect(page.getByRole('table', { name: 'Client certificates of this account' }).getByRole('row')).toHaveCount(2);

  // Its renewal replaces it in one step; a refused try leaves the current one.
  const renewal = certificate('e2e renewal');
  await page.getByRole('button', { name: 'Replace the certificate for api.partner.example' }).click();
  const replacing = page.getByRole('dialog', { name: 'Replace Certificate: api.partner.example' });
  await replacing.getByLabel('Certificate').fill(renewal.cert);
  await replacing.getByLabel('Private Key').fill(mine.key);
  await replacing.getByRole('button', { name: 'Replace' }).click();
  await expect(replacing.getByText('The private key does not belong to this certificate.')).toBeVisible();
  await replacing.getByLabel('Private Key').fill(renewal.key);
  await replacing.getByRole('button', { name: 'Replace' }).click();
  await expect(replacing).toBeHidden();
  await expect(page.getByText('The certificate for api.partner.example is replaced.')).toBeVisible();
  await expect(page.getByRole('cell', { name: 'CN=e2e renewal', exact: true }).first()).toBeVisible();
  await expect(page.getByRole('cell', { name: 'CN=e2e client', exact: true })).toHaveCount(0);
  await expect(page.getByRole('table', { name: 'Client certificates of this account' }).getByRole('row')).toHaveCount(2);
});

test('connect a Stripe account through the OAuth flow against the local provider', async ({ page }) => {
  const email = uniqueEmail('stripe');
  await signUp(page, email);
  await ready(page);
  const tabs = page.getByRole('navigation', { name: 'My Account sections' });
  await tabs.getByRole('link', { name: 'OAuth Tokens' }).click();
  await expect(page.getByText('Stripe is not enabled for this account yet.', { exact: false })).toBeVisible();
  await expect(page.getByRole('button', { name: 'Add Token' })).toHaveCount(0);

  operator(['account', 'enable-stripe', '--account-of', email]);
  // Pressed before the page's code has come, as on a slow connection: the
  // press is kept (not sent as a reload of the page) and made once it is ready.
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  await page.route('**/*.wasm', async (route) => {
    await held;
    await route.continue();
  });
  await page.reload({ waitUntil: 'domcontentloaded' });
  // This server has a Stripe client for test mode only: Live is not offered.
  await expect(page.getByLabel('Token Type').locator('option')).toHaveText(['Test']);
  const addToken = page.getByRole('button', { name: 'Add Token' });
  await addToken.click();
  await expect(addToken).toHaveAttribute('aria-busy', 'true');
  expect(page.url()).not.toContain('token_type');
  release();
  await expect(page.getByText('Your Stripe account is connected.')).toBeVisible();
  await page.unroute('**/*.wasm');
  await expect(page.getByRole('cell', { name: 'acct_e2eConnected', exact: true })).toBeVisible();
  await expect(page.getByRole('cell', { name: 'Test', exact: true })).toBeVisible();
  expect(await page.content()).not.toContain('sk_test_e2e_ACCESS');
  await expectAccessible(page);
  // Said once: the address loses the outcome, so a reload does not repeat it.
  await ready(page);
  await expect(page).toHaveURL(/\/account\/oauth-tokens$/);
  await page.reload();
  await ready(page);
  await expect(page.getByRole('cell', { name: 'acct_e2eConnected', exact: true })).toBeVisible();
  await expect(page.getByText('Your Stripe account is connected.')).toHaveCount(0);

  // A callback link with a state this session never started (an attacker's
  // link) connects nothing and says why, even with a code the provider would
  // accept: the state is checked before any exchange, so the code stays unused.
  const validCode = 'code_issued_to_the_attacker';
  issuedCodes.add(validCode);
  const landed = await page.goto(`/oauth/stripe/callback?code=${validCode}&state=forged`);
  expect(landed!.url()).toMatch(/\/account\/oauth-tokens\?oauth=invalid_state$/);
  await ready(page);
  await expect(page.getByText('Stripe was not connected: that link was not started here', { exact: false })).toBeVisible();
  // Past the tabs, and drawn with the page (not read out as a status
  // change), the outcome takes the focus.
  await expect(page.getByText('Stripe was not connected: that link was not started here', { exact: false })).toBeFocused();
  await expect(page.getByRole('cell', { name: 'acct_e2eConnected', exact: true })).toHaveCount(1);
  expect(issuedCodes.has(validCode), 'the server never exchanged the code').toBe(true);

  // Deleting is another task: the callback's outcome goes, so it does not
  // read as this one's.
  await page.getByRole('button', { name: 'Delete the test token of acct_e2eConnected' }).click();
  await expect(page.getByText('Stripe was not connected', { exact: false })).toHaveCount(0);
  const confirm = page.getByRole('dialog', { name: 'Delete OAuth Token' });
  await expect(confirm).toContainText('unless another token still uses that Stripe account, it is disconnected from the platform');
  await confirm.getByRole('button', { name: 'Yes' }).click();
  await expect(page.getByText('You have not connected a Stripe account yet.')).toBeVisible();
  await expect(page.getByText('The test token of acct_e2eConnected is deleted.')).toBeFocused();
  // The console held no other token for that Stripe account: Stripe was
  // asked to disconnect it, with the platform's secret.
  expect(disconnected).toEqual(['acct_e2eConnected']);
});
