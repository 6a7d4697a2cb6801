import { test, expect } from '@playwright/test';
import { addJsLibrary, ready, logIn, operatorAddsMember, requestPhoneNumber, signUp, uniqueEmail, PASSWORD } from './helpers';

test('the Activity tab lists who did what, filters by kind, downloads CSV; a user sees their own security events', async ({ page, browser }) => {
  const admin = uniqueEmail('activity');
  await signUp(page, admin);
  await requestPhoneNumber(page);
  await page.goto('/account/js-libraries');
  await ready(page);
  await addJsLibrary(page, 'Greeting');

  // A member's failed then successful sign-in, from another browser.
  const member = uniqueEmail('bob');
  operatorAddsMember(admin, member, 'Harbor-Quartz-Lantern-31');
  const other = await browser.newPage();
  await other.goto('/login');
  await logIn(other, member, 'not-the-password');
  await expect(other.getByText('The email address or password is incorrect.')).toBeVisible();
  await logIn(other, member, 'Harbor-Quartz-Lantern-31');
  await expect(other).toHaveURL(/\/account$/);
  // Their own security events, and none of the account's other events.
  const mine = other.getByRole('region', { name: 'Personal Security' });
  await expect(mine.getByRole('cell', { name: 'Failed log-in' })).toBeVisible();
  await expect(mine.getByRole('cell', { name: 'Phone number requested' })).toHaveCount(0);
  // A regular user has no Activity tab, and the URL is refused.
  await expect(other.getByRole('link', { name: 'Activity', exact: true })).toHaveCount(0);
  const refused = await other.goto('/account/activity');
  expect(refused?.status()).toBe(403);
  await expect(other.getByText('Only an account admin can do this.')).toBeVisible();
  await expect(other.getByRole('cell', { name: 'Phone number requested' })).toHaveCount(0);
  await other.close();

  await page.goto('/account/activity');
  await ready(page);
  await expect(page).toHaveTitle('Activity · My Account · Voice Console');
  const table = page.getByRole('table', { name: 'Activity of this account, newest first' });
  await expect(table.getByRole('cell', { name: 'Phone number requested' })).toBeVisible();
  await expect(table.getByRole('cell', { name: 'Failed log-in' })).toBeVisible();
  await expect(table.getByRole('cell', { name: member, exact: true }).first()).toBeVisible();
  // Newest first: the member's sign-in comes before the admin's library.
  const labels = await table.locator('tbody tr td:nth-child(3)').allTextContents();
  expect(labels.indexOf('Failed log-in')).toBeGreaterThanOrEqual(0);
  expect(labels.indexOf('Failed log-in')).toBeLessThan(labels.indexOf('Phone number requested'));

  await page.getByLabel('Kind').selectOption({ label: 'Phone number requested' });
  await expect(table.locator('tbody tr')).toHaveCount(1);
  await expect(table.getByRole('cell', { name: 'Phone number requested' })).toBeVisible();
  // The table drawn anew is said to a screen reader.
  await expect(page.getByRole('status').filter({ hasText: '1 event shown.' })).toBeAttached();
  // Its time is to the minute, as every time in the console; the element
  // keeps the seconds for the machine.
  const time = table.locator('tbody tr td.when time');
  await expect(time).toHaveText(/^\d{4}-\d\d-\d\d \d\d:\d\d UTC$/);
  await expect(time).toHaveAttribute('datetime', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);

  // The link says how much a download holds.
  await expect(page.getByRole('link', { name: 'Download CSV' })).toHaveAccessibleDescription('A download holds the newest 100,000 events that match.');
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Download CSV' }).click()]);
  const csv = await (await download.createReadStream()).toArray();
  const text = Buffer.concat(csv).toString('utf8');
  // A byte order mark first, so a spreadsheet reads accented names as UTF-8.
  expect(text.split('\r\n')[0]).toBe('\ufefftime,actor,kind,what,target,client_address,detail');
  expect(text).toContain('"phone_number.requested"');
  expect(text).not.toContain('sign_in.failed');
  // Unfiltered, the member's failed log-in is there, without what they typed.
  await page.getByLabel('Kind').selectOption({ label: 'All kinds' });
  await expect(table.getByRole('cell', { name: 'Failed log-in' })).toBeVisible();
  const [all] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Download CSV' }).click()]);
  const everything = Buffer.concat(await (await all.createReadStream()).toArray()).toString('utf8');
  expect(everything).toContain('"sign_in.failed"');
  expect(everything).not.toContain('not-the-password');
  await page.getByLabel('Kind').selectOption({ label: 'Phone number requested' });
  await expect(table.locator('tbody tr')).toHaveCount(1);

  // To before From is refused beside To, and offers no download of the
  // refusal; the list stays as it was.
  await page.getByLabel('From').fill('2026-12-02');
  await page.getByLabel('To').fill('2026-12-01');
  await expect(page.locator('#activity-to-error')).toHaveText('To must be the same day as From or later.');
  await expect(page.getByLabel('To')).toHaveAttribute('aria-invalid', 'true');
  await expect(table.getByRole('cell', { name: 'Phone number requested' })).toBeVisible();
  // The link stays where Tab finds it, and says why it downloads nothing.
  const csvLink = page.getByRole('link', { name: 'Download CSV' });
  await expect(csvLink).toHaveAttribute('aria-disabled', 'true');
  await expect(csvLink).toHaveAccessibleDescription(/To must be the same day as From or later\./);
  // Reached from the keyboard, and pressed: nothing is downloaded.
  const downloaded = page.waitForEvent('download', { timeout: 1500 }).then(() => true, () => false);
  await csvLink.focus();
  await expect(csvLink).toBeFocused();
  await page.keyboard.press('Enter');
  expect(await downloaded).toBe(false);
});

test('a refused download is said beside its link, and All Users gives the focus back to the picker', async ({ page }) => {
  await signUp(page, uniqueEmail('downloads'));
  await page.goto('/account/activity');
  await ready(page);
  const link = page.getByRole('link', { name: 'Download CSV' });
  // An admin may download ten times an hour; each is saved.
  for (let i = 0; i < 10; i++) {
    const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
    expect(await download.failure()).toBeNull();
    expect(download.suggestedFilename()).toBe('activity.csv');
    await expect(link).not.toHaveAttribute('aria-disabled', 'true');
    // Said once saved: the link's text alone went back from "Preparing CSV…".
    await expect(page.getByText('activity.csv is downloaded.')).toBeVisible();
  }
  // The eleventh is refused on the tab, not as a failed or bogus file.
  let downloads = 0;
  page.on('download', () => downloads++);
  await link.click();
  await expect(page.getByRole('status').getByText(/^Too many activity downloads for now\. Try again in /)).toBeVisible();
  await expect(page).toHaveURL(/\/account\/activity$/);
  expect(downloads).toBe(0);

  // The button that clears the chosen user goes with it: the focus goes
  // to the picker, not to the top of the page.
  const picker = page.getByRole('combobox', { name: 'User' });
  await picker.fill('Grace');
  await page.getByRole('option', { name: /Grace Hopper/ }).click();
  await page.getByRole('button', { name: 'All Users' }).focus();
  await page.keyboard.press('Enter');
  await expect(page.getByRole('button', { name: 'All Users' })).toHaveCount(0);
  await expect(picker).toBeFocused();

  // A session that has ended is said too, not saved as the log-in page.
  await page.context().clearCookies();
  await link.click();
  await expect(page.getByRole('status').getByText('Your session has ended.')).toBeVisible();
  await expect(page.getByRole('link', { name: 'Log in again in a new tab' })).toBeVisible();
  expect(downloads).toBe(0);
});

test('the Activity filters stay in the address: a reload and Back keep them, the tab link clears them', async ({ page }) => {
  await signUp(page, uniqueEmail('kept'));
  await page.goto('/account/activity');
  await ready(page);
  const table = page.getByRole('table', { name: 'Activity of this account, newest first' });
  const picker = page.getByRole('combobox', { name: 'User' });
  await page.getByLabel('Kind').selectOption({ label: 'Logged in' });
  await page.getByLabel('From').fill('2026-01-01');
  await picker.fill('Grace');
  await page.getByRole('option', { name: /Grace Hopper/ }).click();
  await expect(page).toHaveURL(/\/account\/activity\?user=\d+&kind=sign_in\.succeeded&from=2026-01-01$/);
  await expect(table.getByRole('cell', { name: 'Account signed up' })).toHaveCount(0);
  await expect(table.getByRole('cell', { name: 'Logged in' }).first()).toBeVisible();

  // A reload draws the same list, the controls set and the user named.
  await page.reload();
  await ready(page);
  await expect(page.getByLabel('Kind')).toHaveValue('sign_in.succeeded');
  await expect(page.getByLabel('From')).toHaveValue('2026-01-01');
  await expect(picker).toHaveValue('Grace Hopper');
  await expect(page.getByRole('button', { name: 'All Users' })).toBeVisible();
  await expect(table.getByRole('cell', { name: 'Logged in' }).first()).toBeVisible();
  await expect(table.getByRole('cell', { name: 'Account signed up' })).toHaveCount(0);

  // Another tab, then Back: the same again.
  await page.getByRole('link', { name: 'Account', exact: true }).click();
  await expect(page).toHaveURL(/\/account$/);
  await page.goBack();
  await expect(page).toHaveURL(/\/account\/activity\?user=\d+&kind=sign_in\.succeeded&from=2026-01-01$/);
  await expect(page.getByLabel('Kind')).toHaveValue('sign_in.succeeded');
  await expect(picker).toHaveValue('Grace Hopper');
  await expect(table.getByRole('cell', { name: 'Account signed up' })).toHaveCount(0);

  // The tab's own link is its bare address: every filter goes.
  await page.getByRole('link', { name: 'Activity', exact: true }).click();
  await expect(page).toHaveURL(/\/account\/activity$/);
  await expect(page.getByLabel('Kind')).toHaveValue('');
  await expect(page.getByLabel('From')).toHaveValue('');
  await expect(picker).toHaveValue('');
  await expect(page.getByRole('button', { name: 'All Users' })).toHaveCount(0);
  await expect(table.getByRole('cell', { name: 'Account signed up' })).toBeVisible();

  // Back, on the same tab: the filters come back into the same controls.
  await page.goBack();
  await expect(page).toHaveURL(/\/account\/activity\?user=\d+&kind=sign_in\.succeeded&from=2026-01-01$/);
  await expect(page.getByLabel('Kind')).toHaveValue('sign_in.succeeded');
  await expect(page.getByLabel('From')).toHaveValue('2026-01-01');
  await expect(picker).toHaveValue('Grace Hopper');
  await expect(table.getByRole('cell', { name: 'Account signed up' })).toHaveCount(0);
});
