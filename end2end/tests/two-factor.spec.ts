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
  /** `lastStep`: the last step whose code the server has seen, from any secret. */
  constructor(private secret: Buffer, public lastStep = 0) {}
  async code(): Promise<string> {
    const now = () => Math.floor(Date.now() / 1000 / 30);
    // The server takes the step before its own until that one ends: used
    // with under 10 s left, the code could expire on its way there.
    const leftInStep = 30 - ((Date.now() / 1000) % 30);
    const step = Math.max(this.lastStep + 1, leftInStep > 10 ? now() - 1 : now());
    while (step > now() + 1) await new Promise((r) => setTimeout(r, 500));
    this.lastStep = step;
    return totp(this.secret, step);
  }
}

async function logOut(page: Page) {
  await page.getByRole('button', { name: 'Log Out', exact: true }).click();
  await expect(page).toHaveURL(/\/login/);
}

test('enable 2FA with a computed code, log in with a code, disable it', async ({ page }) => {
  test.setTimeout(120_000);
  const email = uniqueEmail('totp');
  await signUp(page, email);
  await ready(page);
  await page.getByRole('button', { name: 'Set Up Two-Factor Authentication' }).click();
  await expect(page.getByRole('img', { name: 'QR code of your two-factor secret' })).toBeVisible();
  // The button is gone: the focus goes to the section's heading, before the
  // steps, not to the page's top.
  await expect(page.getByRole('heading', { name: 'Two-Factor Authentication' })).toBeFocused();
  // Shown in groups of four, to type by hand.
  await expect(page.locator('code.secret').first()).toHaveText(/^([A-Z2-7]{4} )+[A-Z2-7]{1,4}$/);
  const secret = (await page.locator('code.secret').first().textContent())!.replace(/\s+/g, '');
  const app = new Authenticator(base32Decode(secret));
  await expectAccessible(page);
  // Turning it on asks for the password again.
  await page.getByLabel('Authentication Code').fill(await app.code());
  await page.locator('#enable-password').fill('not my password');
  await page.getByRole('button', { name: 'Turn On' }).click();
  await expect(page.getByText('The current password is incorrect.')).toBeVisible();
  await page.locator('#enable-password').fill(PASSWORD);
  await page.locator('#enable-code').fill('000000');
  await page.getByRole('button', { name: 'Turn On' }).click();
  await expect(page.getByText(/That code is not valid/)).toBeVisible();
  await page.locator('#enable-code').fill(await app.code());
  await page.getByRole('button', { name: 'Turn On' }).click();
  await expect(page.getByText('Your recovery codes.', { exact: false })).toBeVisible();
  await expect(page.locator('ul.recovery-codes li')).toHaveCount(10);
  await expect(page.getByText('Two-factor authentication is on', { exact: false })).toBeVisible();
  await expect(page.getByText('Your other sessions were logged out', { exact: false })).toBeVisible();

  // Log out; the password alone is not enough any more.
  await logOut(page);
  await logIn(page, email, PASSWORD);
  await expect(page).toHaveURL(/\/login\/two-factor/);
  await ready(page);
  await expectAccessible(page);
  // The page is for the code: typing goes straight there.
  await expect(page.getByLabel('Authentication Code')).toBeFocused();
  await page.keyboard.type(await app.code());
  await page.getByRole('button', { name: 'Verify' }).click();
  await expect(page).toHaveURL(/\/account$/);
  await ready(page);
  await expect(page.getByText('This session')).toBeVisible();

  // A key outlives the session: with 2FA on, it asks for a code too. The
  // field appears when asked for, with the focus, and the rest is kept.
  await expect(page.locator('#key-code')).toHaveCount(0);
  await page.getByLabel('Key name').fill('Nightly report');
  await page.locator('#key-password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Generate Key' }).click();
  await expect(page.getByText('Two-factor authentication is on: enter a code')).toBeVisible();
  await expect(page.locator('#key-code')).toBeFocused();
  // It takes a recovery code too (letters and a hyphen): no number pad.
  await expect(page.locator('#key-code')).not.toHaveAttribute('inputmode', 'numeric');
  await expect(page.getByLabel('Key name')).toHaveValue('Nightly report');
  await page.keyboard.type(await app.code());
  await page.getByRole('button', { name: 'Generate Key' }).click();
  await expect(page.locator('#new-developer-key')).toHaveText(/^vk_/);
  // The focus is taken to it, so that it is read out and Tab reaches Copy.
  await expect(page.locator('#new-key-ready')).toBeFocused();

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

test('on one page, 2FA turned off shows the set-up afresh and can be turned on again', async ({ page }) => {
  test.setTimeout(180_000);
  await signUp(page, uniqueEmail('totp-again'));
  await ready(page);
  // Cancel leaves the steps; the focus goes back to Set Up.
  await page.getByRole('button', { name: 'Set Up Two-Factor Authentication' }).click();
  await page.getByRole('button', { name: 'Cancel', exact: true }).click();
  await expect(page.getByRole('img', { name: 'QR code of your two-factor secret' })).toHaveCount(0);
  await expect(page.getByRole('button', { name: 'Set Up Two-Factor Authentication' })).toBeFocused();
  await page.getByRole('button', { name: 'Set Up Two-Factor Authentication' }).click();
  const first = (await page.locator('code.secret').first().textContent())!.replace(/\s+/g, '');
  const app = new Authenticator(base32Decode(first));
  await page.locator('#enable-password').fill(PASSWORD);
  await page.locator('#enable-code').fill(await app.code());
  await page.getByRole('button', { name: 'Turn On' }).click();
  await expect(page.locator('ul.recovery-codes li')).toHaveCount(10);
  // Read out at once: the focus is taken to them (Turn On is gone).
  await expect(page.locator('#recovery-codes-ready')).toBeFocused();
  const enabledCodes = await page.locator('ul.recovery-codes li').allTextContents();
  // They can be copied before they go, one code a line.
  await page.context().grantPermissions(['clipboard-read', 'clipboard-write']);
  await page.getByRole('button', { name: 'Copy Codes' }).click();
  await expect(page.getByRole('button', { name: 'Copied' })).toBeVisible();
  const copied = await page.evaluate(() => navigator.clipboard.readText());
  expect(copied).toBe(enabledCodes.map((c) => c.trim()).join('\n') + '\n');
  // New codes replace the ones shown.
  await page.getByText('New Recovery Codes', { exact: true }).click();
  await page.locator('#regenerate-password').fill(PASSWORD);
  await page.locator('#regenerate-code').fill(await app.code());
  await page.getByRole('button', { name: 'Make New Recovery Codes' }).click();
  await expect(page.locator('ul.recovery-codes li').first()).not.toHaveText(enabledCodes[0]);
  const newCodes = await page.locator('ul.recovery-codes li').allTextContents();
  // New codes end no session: only turning 2FA on says so.
  await expect(page.getByText('Your other sessions were logged out', { exact: false })).toHaveCount(0);
  // Put away once kept; the focus stays in the section.
  await page.getByRole('button', { name: 'I Have Saved Them' }).click();
  await expect(page.locator('ul.recovery-codes')).toHaveCount(0);
  await expect(page.getByRole('heading', { name: 'Two-Factor Authentication' })).toBeFocused();
  await expect(page.getByText('Two-factor authentication is on', { exact: false })).toBeVisible();
  // New ones once more (for a recovery code: no wait for the app's next
  // code), left on screen for the turn-off below to take away.
  await page.locator('#regenerate-password').fill(PASSWORD);
  await page.locator('#regenerate-code').fill(newCodes[0].trim());
  await page.getByRole('button', { name: 'Make New Recovery Codes' }).click();
  await expect(page.locator('ul.recovery-codes li')).toHaveCount(10);

  await page.getByText('Turn off two-factor authentication').click();
  await page.locator('#disable-password').fill(PASSWORD);
  await page.locator('#disable-code').fill(await app.code());
  await page.getByRole('button', { name: 'Turn Off' }).click();
  // Neither the old secret nor codes that no longer work stay on the page.
  await expect(page.getByRole('button', { name: 'Set Up Two-Factor Authentication' })).toBeVisible();
  const off = page.getByText('Two-factor authentication is off: log-in asks for your password only.');
  await expect(off).toBeVisible();
  await expect(page.getByRole('img', { name: 'QR code of your two-factor secret' })).toHaveCount(0);
  await expect(page.locator('ul.recovery-codes')).toHaveCount(0);

  // A new set-up has a new secret, and turns on with its codes.
  await page.getByRole('button', { name: 'Set Up Two-Factor Authentication' }).click();
  await expect(off).toBeHidden();
  const second = (await page.locator('code.secret').first().textContent())!.replace(/\s+/g, '');
  expect(second).not.toBe(first);
  const again = new Authenticator(base32Decode(second), app.lastStep);
  await page.locator('#enable-password').fill(PASSWORD);
  await page.locator('#enable-code').fill(await again.code());
  await page.getByRole('button', { name: 'Turn On' }).click();
  await expect(page.getByText('Two-factor authentication is on', { exact: false })).toBeVisible();
  await expect(page.locator('ul.recovery-codes li')).toHaveCount(10);
});

test('with 2FA on, a reset link leads to the code step and the new password waits for the code', async ({ page }) => {
  test.setTimeout(120_000);
  const email = uniqueEmail('reset2fa');
  await signUp(page, email);
  await ready(page);
  await page.getByRole('button', { name: 'Set Up Two-Factor Authentication' }).click();
  const secret = (await page.locator('code.secret').first().textContent())!.replace(/\s+/g, '');
  const app = new Authenticator(base32Decode(secret));
  await page.locator('#enable-password').fill(PASSWORD);
  await page.locator('#enable-code').fill(await app.code());
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
  // Nothing is left for a second press to send again.
  await expect(page.getByLabel('Key name')).toHaveValue('');
  await expect(page.locator('#key-password')).toHaveValue('');
  const me = await request.get('/api/v1/me', { headers: { Authorization: `Bearer ${key}` } });
  expect(me.status()).toBe(200);
  // Once saved, the user puts it away; the focus stays in the section.
  await page.getByRole('button', { name: 'I Have Saved It' }).click();
  await expect(page.getByText(key)).toHaveCount(0);
  await expect(page.getByRole('heading', { name: 'Developer Keys' })).toBeFocused();
  await page.reload();
  await ready(page);
  await expect(page.getByText(key)).toHaveCount(0);
  await expect(page.getByRole('cell', { name: `${key.slice(0, 11)}…` })).toBeVisible();

  // Regenerating shows the new secret once; a key generated after it is the
  // one shown then, whichever form made the earlier one.
  const shown = page.locator('#new-developer-key');
  await page.getByRole('button', { name: 'Regenerate Nightly report' }).click();
  // A dialog asks for the password, with the cursor already there.
  await expect(page.getByRole('dialog', { name: 'Regenerate Nightly report' })).toBeVisible();
  await expect(page.locator('#regenerate-key-password')).toBeFocused();
  await page.locator('#regenerate-key-password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Regenerate Key' }).click();
  await expect(shown).toHaveText(/^vk_/);
  const regenerated = (await shown.textContent())!.trim();
  expect(regenerated).not.toBe(key);
  await page.getByLabel('Key name').fill('Backup job');
  await page.locator('#key-password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Generate Key' }).click();
  await expect(page.locator('#new-key-ready')).toHaveText(/Your new key Backup job is ready\./);
  await expect(page.locator('#new-key-ready')).toBeFocused();
  await expect(shown).not.toHaveText(regenerated);
  const backup = (await shown.textContent())!.trim();
  const status = async (k: string) =>
    (await request.get('/api/v1/me', { headers: { Authorization: `Bearer ${k}` } })).status();
  expect(await status(key)).toBe(401);
  expect(await status(regenerated)).toBe(200);
  expect(await status(backup)).toBe(200);

  // Revoking asks first: Cancel keeps the key, Yes ends it.
  await page.getByRole('button', { name: 'Revoke Nightly report' }).click();
  const dialog = page.getByRole('dialog', { name: 'Revoke Developer Key' });
  await expect(dialog.getByText('Revoke Nightly report? Programs using it stop working at once')).toBeVisible();
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await expect(dialog).toBeHidden();
  expect(await status(regenerated)).toBe(200);
  await page.getByRole('button', { name: 'Revoke Nightly report' }).click();
  await dialog.getByRole('button', { name: 'Yes' }).click();
  await expect(dialog).toBeHidden();
  await expect(page.getByRole('cell', { name: 'Nightly report', exact: true })).toHaveCount(0);
  await expect(page.getByText('The key Nightly report is revoked.')).toBeVisible();
  await expect(page.getByRole('cell', { name: 'Backup job', exact: true })).toBeVisible();
  expect(await status(regenerated)).toBe(401);
  expect(await status(backup)).toBe(200);
  // A revoked key's secret is not left on show to be copied.
  await expect(shown).toHaveText(backup);
  await page.getByRole('button', { name: 'Revoke Backup job' }).click();
  await dialog.getByRole('button', { name: 'Yes' }).click();
  await expect(page.getByText('The key Backup job is revoked.')).toBeVisible();
  await expect(shown).toHaveCount(0);
  await expect(page.getByText(backup)).toHaveCount(0);
});

test('a refused Set Up says why, and the focus stays on the button', async ({ page, context }) => {
  await signUp(page, uniqueEmail('totp-refused'));
  await ready(page);
  // Meanwhile, in another window, two-factor authentication is turned on.
  const other = await context.newPage();
  await other.goto('/account');
  await ready(other);
  await other.getByRole('button', { name: 'Set Up Two-Factor Authentication' }).click();
  const secret = (await other.locator('code.secret').first().textContent())!.replace(/\s+/g, '');
  await other.locator('#enable-password').fill(PASSWORD);
  await other.locator('#enable-code').fill(await new Authenticator(base32Decode(secret)).code());
  await other.getByRole('button', { name: 'Turn On' }).click();
  await expect(other.locator('ul.recovery-codes li')).toHaveCount(10);

  const setUp = page.getByRole('button', { name: 'Set Up Two-Factor Authentication' });
  await setUp.click();
  await expect(page.getByRole('status').filter({ hasText: 'Two-factor authentication is already on.' })).toBeVisible();
  await expect(setUp).toBeFocused();
  await expect(page.getByRole('img', { name: 'QR code of your two-factor secret' })).toHaveCount(0);
});
