import { test, expect, Page } from '@playwright/test';
import { createHmac } from 'crypto';
import { expectAccessible, ready, linkFromMailFolder, logIn, PASSWORD, signUp, uniqueEmail } from './helpers';

function base32Decode(text: string): Buffer {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  const out: number[] = [];
  for (const c of text) {
    value = (value << 5) | alphabet.indexOf(c);
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

/** RFC 6238: HMAC-SHA1, 6 digits, 30-second steps. */
function totp(secret: Buffer, step: number): string {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const digest = createHmac('sha1', secret).update(counter).digest();
  const offset = digest[19] & 0x0f;
  const binary = digest.readUInt32BE(offset) & 0x7fffffff;
  return String(binary % 1_000_000).padStart(6, '0');
}

/**
 * A code the server has not seen yet: each step's code works once, and the
 * server accepts the steps next to the current one.
 */
class Authenticator {
  private lastStep = 0;
  constructor(private secret: Buffer) {}
  async code(): Promise<string> {
    const now = () => Math.floor(Date.now() / 1000 / 30);
    const step = Math.max(this.lastStep + 1, now() - 1);
    while (step > now() + 1) await new Promise((r) => setTimeout(r, 500));
    this.lastStep = step;
    return totp(this.secret, step);
  }
}

async function logOut(page: Page) {
  await page.getByRole('button', { name: 'Log out' }).click();
  await expect(page).toHaveURL(/\/login/);
}

test('enable 2FA with a computed code, log in with a code, disable it', async ({ page }) => {
  test.setTimeout(120_000);
  const email = uniqueEmail('totp');
  await signUp(page, email);
  await ready(page);
  await page.getByRole('button', { name: 'Set Up Two-Factor Authentication' }).click();
  await expect(page.getByRole('img', { name: 'QR code of your two-factor secret' })).toBeVisible();
  const secret = (await page.locator('code.secret').first().textContent())!.trim();
  const app = new Authenticator(base32Decode(secret));
  await expectAccessible(page);
  // Turning it on asks for the password again.
  await page.getByLabel('Code from the app').fill(await app.code());
  await page.locator('#enable-password').fill('not my password');
  await page.getByRole('button', { name: 'Turn On' }).click();
  await expect(page.getByText('The password is incorrect.')).toBeVisible();
  await page.locator('#enable-password').fill(PASSWORD);
  await page.getByLabel('Code from the app').fill('000000');
  await page.getByRole('button', { name: 'Turn On' }).click();
  await expect(page.getByText(/That code is not valid/)).toBeVisible();
  await page.getByLabel('Code from the app').fill(await app.code());
  await page.getByRole('button', { name: 'Turn On' }).click();
  await expect(page.getByText('Your recovery codes.', { exact: false })).toBeVisible();
  await expect(page.locator('ul.recovery-codes li')).toHaveCount(10);
  await expect(page.getByText('Two-factor authentication is on', { exact: false })).toBeVisible();

  // Log out; the password alone is not enough any more.
  await logOut(page);
  await logIn(page, email, PASSWORD);
  await expect(page).toHaveURL(/\/login\/two-factor/);
  await ready(page);
  await expectAccessible(page);
  await page.getByLabel('Authentication code').fill(await app.code());
  await page.getByRole('button', { name: 'Verify' }).click();
  await expect(page).toHaveURL(/\/account$/);
  await ready(page);
  await expect(page.getByText('This session')).toBeVisible();

  // Turn it off with the password and a fresh code.
  await page.getByText('Turn off two-factor authentication').click();
  await page.locator('#disable-password').fill(PASSWORD);
  await page.locator('#disable-code').fill(await app.code());
  await page.getByRole('button', { name: 'Turn Off' }).click();
  await expect(page.getByRole('button', { name: 'Set Up Two-Factor Authentication' })).toBeVisible();
  await logOut(page);
  await logIn(page, email, PASSWORD);
  await expect(page).toHaveURL(/\/account$/);
});

test('with 2FA on, a reset link leads to the code step and the new password waits for the code', async ({ page }) => {
  test.setTimeout(120_000);
  const email = uniqueEmail('reset2fa');
  await signUp(page, email);
  await ready(page);
  await page.getByRole('button', { name: 'Set Up Two-Factor Authentication' }).click();
  const secret = (await page.locator('code.secret').first().textContent())!.trim();
  const app = new Authenticator(base32Decode(secret));
  await page.locator('#enable-password').fill(PASSWORD);
  await page.getByLabel('Code from the app').fill(await app.code());
  await page.getByRole('button', { name: 'Turn On' }).click();
  await expect(page.getByText('Two-factor authentication is on', { exact: false })).toBeVisible();
  await logOut(page);

  await page.goto('/forgot-password');
  await ready(page);
  await page.getByLabel('Email Address').fill(email);
  await page.getByRole('button', { name: 'Send Reset Link' }).click();
  await expect(page.getByText('If an account uses that address')).toBeVisible();
  await page.goto(await linkFromMailFolder(email, '/reset-password'));
  await ready(page);
  const newPassword = 'Quartz-Harbor-Lantern-78';
  await page.getByLabel('New Password').fill(newPassword);
  await page.getByRole('button', { name: 'Set New Password' }).click();
  // The mailbox alone is not enough: the code step, no session yet.
  await expect(page).toHaveURL(/\/login\/two-factor/);
  await ready(page);
  await expect(page.getByText('Your new password is saved when you enter a code.')).toBeVisible();
  await expectAccessible(page);
  // Until the code is entered, the old password stays.
  await page.goto('/account');
  await expect(page).toHaveURL(/\/login/);
  await logIn(page, email, newPassword);
  await expect(page.getByText('The email address or password is incorrect.')).toBeVisible();

  // The link again, then the code: the new password takes effect.
  await page.goto(await linkFromMailFolder(email, '/reset-password'));
  await ready(page);
  await page.getByLabel('New Password').fill(newPassword);
  await page.getByRole('button', { name: 'Set New Password' }).click();
  await expect(page).toHaveURL(/\/login\/two-factor/);
  await ready(page);
  await page.getByLabel('Authentication code').fill(await app.code());
  await page.getByRole('button', { name: 'Verify' }).click();
  await expect(page).toHaveURL(/\/account$/);
  await ready(page);
  await logOut(page);
  await logIn(page, email, PASSWORD);
  await expect(page.getByText('The email address or password is incorrect.')).toBeVisible();
  await logIn(page, email, newPassword);
  await expect(page).toHaveURL(/\/login\/two-factor/);
  await ready(page);
  await page.getByLabel('Authentication code').fill(await app.code());
  await page.getByRole('button', { name: 'Verify' }).click();
  await expect(page).toHaveURL(/\/account$/);
});

test('a developer key is shown once, then listed by its prefix, and works against the API', async ({ page, request }) => {
  await signUp(page, uniqueEmail('keys'));
  await ready(page);
  await page.getByLabel('Key name').fill('Nightly report');
  await page.locator('#key-password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Generate Key' }).click();
  const key = (await page.locator('#new-developer-key').textContent())!.trim();
  expect(key).toMatch(/^vk_/);
  await expect(page.getByRole('cell', { name: 'Nightly report', exact: true })).toBeVisible();
  const me = await request.get('/api/v1/me', { headers: { Authorization: `Bearer ${key}` } });
  expect(me.status()).toBe(200);
  await page.reload();
  await ready(page);
  await expect(page.getByText(key)).toHaveCount(0);
  await expect(page.getByRole('cell', { name: `${key.slice(0, 11)}…` })).toBeVisible();
  await page.getByRole('button', { name: 'Revoke Nightly report' }).click();
  await expect(page.getByText('You have no developer keys.')).toBeVisible();
  const after = await request.get('/api/v1/me', { headers: { Authorization: `Bearer ${key}` } });
  expect(after.status()).toBe(401);
});
