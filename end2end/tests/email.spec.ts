import { test, expect } from '@playwright/test';
import { expectAccessible, ready, linkFromMailFolder, logIn, signUp, signUpUnverified, uniqueEmail, PASSWORD } from './helpers';

test('sign up, open the verification email from the mail folder, verify', async ({ page }) => {
  const email = uniqueEmail('verify');
  await signUpUnverified(page, email);
  await ready(page);
  await expect(page.getByRole('heading', { name: 'Your email address is not verified' })).toBeVisible();
  await expect(page.getByText('Until you do, you cannot invite users', { exact: false })).toBeVisible();

  const link = await linkFromMailFolder(email, '/verify-email');
  await page.goto(link);
  await ready(page);
  await expectAccessible(page);
  // The page names the account, for the address's owner to tell a
  // stranger's sign-up from theirs.
  await expect(page.locator('main')).toContainText('This link verifies the address of Grace Hopper, who signed up for Acme Voice on');
  await page.getByRole('button', { name: 'Verify Email Address' }).click();
  await expect(page.getByText('Your email address is verified.')).toBeVisible();

  await page.goto('/account');
  await expect(page.getByRole('heading', { name: 'User Settings' })).toBeVisible();
  await expect(page.getByRole('heading', { name: 'Your email address is not verified' })).toHaveCount(0);

  // The link again says what is true as it opens: the address is
  // verified, with nothing to press.
  await page.goto(link);
  await ready(page);
  await expect(page.getByText('Your email address is verified.')).toBeVisible();
  await expect(page.getByRole('button', { name: 'Verify Email Address' })).toHaveCount(0);
});

test('forgot password from the log-in page, reset from the email, log in with the new password', async ({ page }) => {
  const email = uniqueEmail('forgot');
  await signUp(page, email);
  await page.getByRole('button', { name: 'Log Out', exact: true }).click();
  await expect(page).toHaveURL(/\/login\?logged_out=1$/);

  await ready(page);
  // The address typed on the log-in page (as the server sends it, without
  // the console's code) comes along.
  await page.goto('/login');
  await ready(page);
  await page.getByLabel('Email Address').fill(email);
  await page.getByRole('link', { name: 'Forgot password?' }).click();
  await expect(page).toHaveURL(/\/forgot-password\?email=/);
  await expect(page.getByLabel('Email Address')).toHaveValue(email);
  await expectAccessible(page);
  await page.getByRole('button', { name: 'Send Reset Link' }).click();
  await expect(page.getByText('If an account uses that address')).toBeVisible();

  const link = await linkFromMailFolder(email, '/reset-password');
  // The same link open in another tab too, to be sent after this one.
  const stale = await page.context().newPage();
  await stale.goto(link);
  await ready(stale);
  await page.goto(link);
  await ready(page);
  await expectAccessible(page);
  const newPassword = 'Quartz-Harbor-Lantern-77';
  await page.getByLabel('New Password').fill('short');
  await page.getByRole('button', { name: 'Set New Password' }).click();
  await expect(page.getByText('New Password must be at least 8 characters.')).toBeVisible();
  await page.getByLabel('New Password').fill(newPassword);
  await page.getByRole('button', { name: 'Set New Password' }).click();
  await expect(page).toHaveURL(/\/account$/);
  // The other tab's form is refused for its link (no field to mend): said
  // above the form, with the focus there, not left on the page's body.
  await stale.getByLabel('New Password').fill('Another-Harbor-Lantern-78');
  await stale.getByRole('button', { name: 'Set New Password' }).click();
  const said = stale.locator('.form-status .alert');
  await expect(said).toBeVisible();
  await expect(said).toBeFocused();
  await stale.close();

  await page.getByRole('button', { name: 'Log Out', exact: true }).click();
  await expect(page).toHaveURL(/\/login\?logged_out=1$/);
  await logIn(page, email, PASSWORD);
  await expect(page.getByText('The email address or password is incorrect.')).toBeVisible();
  await logIn(page, email, newPassword);
  await expect(page).toHaveURL(/\/account$/);
});

test('change the email address: it changes only once the new address confirms', async ({ page }) => {
  const email = uniqueEmail('old');
  const newEmail = uniqueEmail('new');
  await signUp(page, email);
  await ready(page);
  const section = page.getByRole('region', { name: 'Change Email Address' });
  await section.getByLabel('New Email Address').fill(newEmail);
  await section.getByLabel('Current Password').fill('wrong-password');
  await section.getByRole('button', { name: 'Change Email Address' }).click();
  await expect(section.getByText('The current password is incorrect.')).toBeVisible();
  await section.getByLabel('Current Password').fill(PASSWORD);
  await section.getByRole('button', { name: 'Change Email Address' }).click();
  await expect(section.getByText(`We sent a confirmation link to ${newEmail}.`)).toBeVisible();
  // Until the link is used, the account keeps its address.
  await page.reload();
  await ready(page);
  await expect(page.locator('p.readonly')).toHaveText(email);

  const link = await linkFromMailFolder(newEmail, '/confirm-email');
  await page.goto(link);
  await ready(page);
  await expect(page.locator('main strong.to')).toHaveText(newEmail);
  await expect(page.locator('main strong.from')).toHaveText(email);
  await page.getByRole('button', { name: 'Confirm New Email Address' }).click();
  await expect(page.getByText('Your new email address is confirmed: your account now uses it.')).toBeVisible();
  await page.goto('/account');
  await expect(page.getByText(newEmail, { exact: true })).toBeVisible();
});

test('a pending email change shows after a reload and can be cancelled', async ({ page }) => {
  const email = uniqueEmail('stay');
  const newEmail = uniqueEmail('cancelled');
  await signUp(page, email);
  await ready(page);
  const section = page.getByRole('region', { name: 'Change Email Address' });
  await section.getByLabel('New Email Address').fill(newEmail);
  await section.getByLabel('Current Password').fill(PASSWORD);
  await section.getByRole('button', { name: 'Change Email Address' }).click();
  await expect(section.getByText(`We sent a confirmation link to ${newEmail}.`)).toBeVisible();
  // The security list shows the request, and below its cancel, without a reload.
  const recent = page.getByRole('region', { name: 'Personal Security' });
  await expect(recent.getByText('Email change requested')).toBeVisible();
  // The form is empty again: the password is not left in it.
  await expect(section.getByLabel('Current Password')).toHaveValue('');
  await expect(section.getByLabel('New Email Address')).toHaveValue('');

  await page.reload();
  await ready(page);
  const waiting = section.locator('.pending-change');
  await expect(waiting).toContainText(`We sent a confirmation link to ${newEmail}.`);
  await expect(waiting).toContainText(/works until \d{4}-\d\d-\d\d \d\d:\d\d UTC/);
  // Read before the cancel: an email whose link is cancelled while it
  // waits is not sent at all.
  const cancelled = await linkFromMailFolder(newEmail, '/confirm-email');
  // What is waiting is loaded again after a cancel: late, as over a real
  // network, so the focus is placed before that answer comes.
  await page.route('**/fn/pending_email_change', async (route) => {
    await new Promise((resolve) => setTimeout(resolve, 500));
    await route.continue();
  });
  await section.getByRole('button', { name: 'Cancel Email Change' }).click();
  await expect(section.getByText('The email change was cancelled: its link no longer works.')).toBeVisible();
  await expect(waiting).toHaveCount(0);
  // The button is gone with the change: the focus is on the section's
  // heading, not lost to the top of the page.
  await expect(section.getByRole('heading', { name: 'Change Email Address' })).toBeFocused();
  await expect(recent.getByText('Email change cancelled')).toBeVisible();

  await page.goto(cancelled);
  await ready(page);
  // The page says why before anything is pressed, and offers no button.
  await expect(page.getByRole('alert')).toContainText('the email change was cancelled');
  await expect(page.getByRole('button', { name: 'Confirm New Email Address' })).toHaveCount(0);
  await page.goto('/account');
  await ready(page);
  await expect(page.getByText(email, { exact: true })).toBeVisible();
  await expect(section.locator('.pending-change')).toHaveCount(0);
});
