import { test, expect, Browser, BrowserContext, Page } from '@playwright/test';
import { expectAccessible, ready, logIn, signUp, uniqueEmail, PASSWORD } from './helpers';

/** A session of `email` in a browser context of its own, on My Account. */
async function loggedInElsewhere(browser: Browser, email: string): Promise<[BrowserContext, Page]> {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto('/login');
  await logIn(page, email, PASSWORD);
  await expect(page).toHaveURL(/\/account$/);
  return [context, page];
}

test('sign up, switch tabs, edit the name, change the password, log out and in again', async ({ page, browser }) => {
  const email = uniqueEmail('grace');
  await page.goto('/signup');
  await expect(page).toHaveTitle('Create your account · Voice Console');
  await expectAccessible(page);
  await signUp(page, email);

  // Landed on My Account, rendered with the new user and every tab an admin sees.
  await ready(page);
  await expect(page.getByRole('heading', { name: 'My Account' })).toBeVisible();
  await expect(page).toHaveTitle('My Account · Voice Console');
  await expect(page.getByText('Grace Hopper')).toBeVisible();
  const tabs = page.getByRole('navigation', { name: 'My Account sections' });
  for (const name of ['Account', 'Manage Users', 'Account Information', 'Phone Numbers', 'Certificates', 'OAuth Tokens', 'JS Libraries', 'Integrations']) {
    await expect(tabs.getByRole('link', { name, exact: true })).toBeVisible();
  }
  await expectAccessible(page);

  // Tabs switch on the client: the page is not reloaded.
  await page.evaluate(() => ((window as any).__sameDocument = true));
  await tabs.getByRole('link', { name: 'Certificates' }).click();
  await expect(page).toHaveURL(/\/account\/certificates$/);
  await expect(page.getByText('This account has no client certificates yet.')).toBeVisible();
  await expect(tabs.getByRole('link', { name: 'Certificates' })).toHaveAttribute('aria-current', 'page');
  // Each tab has its own title, for history and browser tabs.
  await expect(page).toHaveTitle('Certificates · My Account · Voice Console');
  await expectAccessible(page);
  await tabs.getByRole('link', { name: 'Manage Users' }).click();
  await expect(page).toHaveURL(/\/account\/users$/);
  await expect(page.getByText('You are the only user')).toBeVisible();
  await expect(page).toHaveTitle('Manage Users · My Account · Voice Console');
  expect(await page.evaluate(() => (window as any).__sameDocument)).toBe(true);

  // ...and from the keyboard alone.
  await tabs.getByRole('link', { name: 'Manage Users' }).focus();
  await page.keyboard.press('Shift+Tab');
  await page.keyboard.press('Enter');
  await expect(page).toHaveURL(/\/account$/);
  await expect(page).toHaveTitle('My Account · Voice Console');
  expect(await page.evaluate(() => (window as any).__sameDocument)).toBe(true);

  // Bad input is explained beside the field, and nothing is saved.
  await page.getByLabel('First Name').fill('');
  await page.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByLabel('First Name')).toHaveAttribute('aria-invalid', 'true');
  await expect(page.getByText('First Name is required.')).toBeVisible();
  await expectAccessible(page);
  await page.reload();
  await ready(page);
  await expect(page.getByLabel('First Name')).toHaveValue('Grace');

  // Edit the name; after a reload it is kept.
  await page.getByLabel('First Name').fill('Amazing');
  await page.getByLabel('Last Name').fill('Grace');
  // The top bar and the tabs stay while the new name loads, not giving
  // way to "Loading…" for a moment.
  await page.evaluate(() => {
    const w = window as any;
    w.__chromeFlashed = false;
    new MutationObserver(() => {
      if (document.querySelector('.console > .loading')) w.__chromeFlashed = true;
    }).observe(document.body, { childList: true, subtree: true });
  });
  await page.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByText('Your name is saved.')).toBeVisible();
  // The button was disabled while it ran; the focus comes back to it.
  await expect(page.getByRole('button', { name: 'Save' })).toBeFocused();
  await expect(page.locator('.topbar')).toContainText('Amazing Grace');
  expect(await page.evaluate(() => (window as any).__chromeFlashed)).toBe(false);
  await page.reload();
  await ready(page);
  await expect(page.getByLabel('First Name')).toHaveValue('Amazing');
  await expect(page.getByLabel('Last Name')).toHaveValue('Grace');

  // Another session, elsewhere, is listed; the password change below signs it out.
  const [elsewhere, other] = await loggedInElsewhere(browser, email);
  await page.reload();
  await ready(page);
  const sessions = page.getByRole('region', { name: 'Logged-In Sessions' });
  await expect(sessions.getByRole('button', { name: /^Log out / })).toHaveCount(1);
  // Each row says where it logged in from (both from this machine here).
  await expect(sessions.getByRole('columnheader', { name: 'Client Address' })).toBeVisible();
  await expect(sessions.getByRole('cell', { name: '127.0.0.1', exact: true })).toHaveCount(2);

  // Log Out All Other Sessions says what it did, and the other one is out.
  await sessions.getByRole('button', { name: 'Log Out All Other Sessions' }).click();
  await expect(sessions.getByText('Every other session is logged out.')).toBeVisible();
  await expect(sessions.getByRole('button', { name: /^Log out / })).toHaveCount(0);
  await expect(sessions.getByRole('button', { name: 'Log Out All Other Sessions' })).toHaveCount(0);
  // The security list shows it without a reload.
  const recent = page.getByRole('region', { name: 'Personal Security' });
  await expect(recent.getByText('Every other session logged out')).toBeVisible();
  await other.goto('/account');
  await expect(other).toHaveURL(/\/login/);
  await expect(other.getByText('Log in to continue: the page you asked for opens next.')).toBeVisible();
  await elsewhere.close();
  // Logging out one session says so, and leaves the others.
  const [second] = await loggedInElsewhere(browser, email);
  const [third] = await loggedInElsewhere(browser, email);
  await page.reload();
  await ready(page);
  await expect(sessions.getByRole('button', { name: /^Log out / })).toHaveCount(2);
  await sessions.getByRole('button', { name: /^Log out / }).first().click();
  await expect(sessions.getByText('The session is logged out.')).toBeVisible();
  await expect(sessions.getByRole('button', { name: /^Log out / })).toHaveCount(1);
  // One outcome at a time: logging out the rest replaces that message.
  await sessions.getByRole('button', { name: 'Log Out All Other Sessions' }).click();
  await expect(sessions.getByText('Every other session is logged out.')).toBeVisible();
  await expect(sessions.getByText('The session is logged out.')).toHaveCount(0);
  await second.close();
  await third.close();
  // Logged in elsewhere again, for the password change below.
  const [again] = await loggedInElsewhere(browser, email);
  await page.reload();
  await ready(page);
  await expect(sessions.getByRole('button', { name: /^Log out / })).toHaveCount(1);

  // Change the password: a wrong current password is refused first. Change
  // Email refused the same way above it keeps its mark, and the focus goes to
  // the field of the form just sent.
  const emailForm = page.getByRole('region', { name: 'Change Email Address' });
  await emailForm.getByLabel('New Email Address').fill(uniqueEmail('elsewhere'));
  await emailForm.getByLabel('Current Password').fill('not-my-password');
  await emailForm.getByRole('button', { name: 'Change Email Address' }).click();
  await expect(emailForm.getByText('The current password is incorrect.')).toBeVisible();
  const newPassword = 'Quartz-Harbor-Lantern-77';
  const passwordForm = page.getByRole('region', { name: 'Change Password' });
  await passwordForm.getByLabel('Current Password').fill('not-my-password');
  await passwordForm.getByLabel('New Password').fill(newPassword);
  await passwordForm.getByRole('button', { name: 'Change Password' }).click();
  await expect(passwordForm.getByText('The current password is incorrect.')).toBeVisible();
  await expect(passwordForm.getByLabel('Current Password')).toBeFocused();
  await passwordForm.getByLabel('Current Password').fill(PASSWORD);
  await passwordForm.getByLabel('New Password').fill(newPassword);
  await passwordForm.getByRole('button', { name: 'Change Password' }).click();
  await expect(passwordForm.getByText('Your password was changed.')).toBeVisible();
  await expect(passwordForm.getByRole('button', { name: 'Change Password' })).toBeFocused();
  await expect(passwordForm.getByLabel('New Password')).toHaveValue('');
  // The list follows without a reload.
  await expect(sessions.getByRole('button', { name: /^Log out / })).toHaveCount(0);
  await again.close();

  // Log out, then log in with the new password.
  await page.getByRole('button', { name: 'Log Out', exact: true }).click();
  await expect(page).toHaveURL(/\/login\?logged_out=1$/);
  await expectAccessible(page);
  await logIn(page, email, PASSWORD);
  await expect(page.getByText('The email address or password is incorrect.')).toBeVisible();
  await logIn(page, email, newPassword);
  await expect(page).toHaveURL(/\/account$/);
  await expect(page.locator('.topbar')).toContainText('Amazing Grace');
});

test('sign-up explains bad input beside each field', async ({ page }) => {
  await page.goto('/signup');
  await ready(page);
  await page.getByLabel('Email Address').fill('not-an-email');
  await page.getByLabel('Password').fill('password');
  await page.getByRole('button', { name: 'Sign Up' }).click();
  await expect(page.getByText('Company Name is required.')).toBeVisible();
  await expect(page.getByText('Enter an email address like name@example.com.')).toBeVisible();
  await expect(page.getByText(/too easy to guess/)).toBeVisible();
  await expect(page.getByLabel('Password')).toHaveAttribute('aria-invalid', 'true');
  await expect(page).toHaveURL(/\/signup$/);
  await expectAccessible(page);
});

test('Account Information saves only what this window changed, and says when another changed it too', async ({ page, context }) => {
  await signUp(page, uniqueEmail('stale-info'));
  await page.goto('/account/account-information');
  await ready(page);
  const other = await context.newPage();
  await other.goto('/account/account-information');
  await ready(other);
  // Another window (another admin, as far as the form can tell) sets the city.
  await other.getByLabel('City').fill('Oslo');
  await other.getByRole('button', { name: 'Save' }).click();
  await expect(other.getByText('The account information is saved.')).toBeVisible();

  // This window, opened before, changes the zip only: the city stays Oslo,
  // and the form now shows it.
  await page.getByLabel('Zip').fill('0150');
  await page.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByText('The account information is saved.')).toBeVisible();
  await expect(page.getByLabel('City')).toHaveValue('Oslo');
  await expect(page.getByLabel('Zip')).toHaveValue('0150');

  // Both change the city: the later one is refused beside the field.
  await other.getByLabel('City').fill('Bergen');
  await other.getByRole('button', { name: 'Save' }).click();
  await expect(other.getByText('The account information is saved.')).toBeVisible();
  await page.getByLabel('City').fill('Tromsø');
  await page.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByText('Another admin changed City since you opened this form.', { exact: false })).toBeVisible();
  await expect(page.getByLabel('City')).toHaveAttribute('aria-invalid', 'true');
  await other.reload();
  await ready(other);
  await expect(other.getByLabel('City')).toHaveValue('Bergen');
  await other.close();
});
