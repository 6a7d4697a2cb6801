import { BrowserContext, expect, Page } from '@playwright/test';
import AxeBuilder from '@axe-core/playwright';
import { execFileSync } from 'child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { DATA_DIR, SERVER_BIN, SERVER_ENV } from '../playwright.config';

export const PASSWORD = 'Velvet-Otter-Sunrise-42';

let counter = 0;
/** An email address no other test uses. */
export function uniqueEmail(name: string): string {
  counter += 1;
  return `${name}.${Date.now()}.${counter}@example.com`;
}

/** Waits until the page has ready, so clicks are handled by the app. */
/**
 * Clicks are handled by the page's code: the console's wasm has hydrated,
 * or, on a page before signing in (plain HTML), its inline form script ran.
 */
export async function ready(page: Page) {
  await page.waitForFunction(() => document.body.dataset.ready === 'true');
}

/** No serious or critical accessibility violation on the page as it is now. */
export async function expectAccessible(page: Page) {
  const results = await new AxeBuilder({ page }).analyze();
  const bad = results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  expect(bad.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target).join(', ')})`)).toEqual([]);
}

/**
 * Signs up and, unless `verify` is false, verifies the address with the link
 * from the mail folder (as a new user must before inviting, requesting
 * numbers or making keys); ends on My Account.
 */
export async function signUp(page: Page, email: string, company = 'Acme Voice', verify = true) {
  await signUpUnverified(page, email, company);
  if (!verify) return;
  await page.goto(await linkFromMailFolder(email, '/verify-email'));
  await ready(page);
  await page.getByRole('button', { name: 'Verify Email Address' }).click();
  await expect(page.getByText('Your email address is verified.')).toBeVisible();
  await page.goto('/account');
  await ready(page);
}

export async function signUpUnverified(page: Page, email: string, company = 'Acme Voice') {
  await page.goto('/signup');
  await ready(page);
  await page.getByLabel('Company Name').fill(company);
  await page.getByLabel('First Name').fill('Grace');
  await page.getByLabel('Last Name').fill('Hopper');
  await page.getByLabel('Email Address').fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign Up' }).click();
  await expect(page).toHaveURL(/\/account$/);
}

export async function logIn(page: Page, email: string, password: string) {
  await ready(page);
  await page.getByLabel('Email Address').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log In' }).click();
}

/** The operator command from the README, run against the test server's data. */
export function operatorAddsMember(accountOf: string, email: string, password: string) {
  execFileSync(
    SERVER_BIN,
    ['user', 'add', '--account-of', accountOf, '--email', email, '--first-name', 'Bob', '--last-name', 'Builder', '--password-stdin'],
    { env: { ...process.env, ...SERVER_ENV }, input: `${password}\n` },
  );
}

/** Any operator command from the README, run against the test server's data. */
export function operator(args: string[]) {
  return execFileSync(SERVER_BIN, args, { env: { ...process.env, ...SERVER_ENV } }).toString();
}

/**
 * The link to `path` in the newest email to `to`, read from the local mail
 * folder the server delivers into (its worker polls every two seconds).
 */
export async function linkFromMailFolder(to: string, path: string): Promise<string> {
  const folder = join(DATA_DIR, 'mail');
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const files = existsSync(folder) ? readdirSync(folder).filter((f) => f.endsWith('.eml')).sort().reverse() : [];
    for (const file of files) {
      const text = readFileSync(join(folder, file), 'utf8');
      if (!text.includes(`To: ${to}`)) continue;
      const match = text.match(new RegExp(`https?://[^\\s]+${path.replace('/', '\\/')}\\?token=[A-Za-z0-9_-]+`));
      if (match) return match[0];
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`no email to ${to} with a ${path} link in ${folder}`);
}

/** Requests the demo account's one phone number on the Phone Numbers tab. */
export async function requestPhoneNumber(page: Page) {
  await page.goto('/account/phone-numbers');
  await ready(page);
  await page.getByRole('button', { name: 'Request a Phone Number' }).click();
  await expect(page.getByRole('button', { name: 'Request a Phone Number' })).toBeDisabled();
}

/** Adds a JS library named `name` on the JS Libraries tab (the page must be there). */
export async function addJsLibrary(page: Page, name: string) {
  await page.getByRole('button', { name: 'Add JS Library' }).click();
  const library = page.getByRole('dialog', { name: 'Add JS Library' });
  await library.getByLabel('Name').fill(name);
  await library.getByLabel('Code').fill('function hello(name) { return "Hi " + name; }');
  await library.getByRole('button', { name: 'Add', exact: true }).click();
  await expect(page.getByRole('cell', { name, exact: true })).toBeVisible();
}

/**
 * A self-signed client certificate and its key, made by openssl for this
 * run, valid for `days`.
 */
export function certificate(commonName: string, days = 365): { cert: string; key: string } {
  const dir = mkdtempSync(join(tmpdir(), 'e2e-cert-'));
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', String(days), '-subj', `/CN=${commonName}`,
  ], { stdio: 'ignore' });
  return { cert: readFileSync(join(dir, 'cert.pem'), 'utf8'), key: readFileSync(join(dir, 'key.pem'), 'utf8') };
}

/** Deletes the application `name` in another window of `context`, as a
 *  second tab of the same user would while the first still shows it. */
export async function deleteApplicationElsewhere(context: BrowserContext, name: string) {
  const other = await context.newPage();
  await other.goto('/account/applications');
  await ready(other);
  await other.getByRole('button', { name: `Delete ${name}` }).click();
  await other.getByRole('dialog', { name: 'Delete Application' }).getByRole('button', { name: 'Yes' }).click();
  await expect(other.getByRole('cell', { name, exact: true })).toHaveCount(0);
  await other.close();
}
