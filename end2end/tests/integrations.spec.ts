import { test, expect, BrowserContext, Page } from '@playwright/test';
import { expectAccessible, ready, logIn, operatorAddsMember, PASSWORD, signUp, uniqueEmail } from './helpers';

const AWS_KEY = 'AKIAIOSFODNN7EXAMPLE';
const AWS_SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const DIALOGFLOW = JSON.stringify({
  type: 'service_account',
  project_id: 'voice-bot-123',
  // A real key, made for these tests only: the server parses it.
  private_key: "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQCdgr9mWLEoaOHB\n7hguHwFxLdDMoKlF2SF8OkOvxmsPrGxG3WhhQ+o7BMsDXyBs+ubsqEKW8JQTcp2V\nGxg597O2je89S2r3Q4Lj3jf37RV0jtnQyvEUaDaGM1U0BavM31DQyBMYPoba0Kbg\nb3YcZyCEid+F2OPFtwn94dbQVDTL/wl/FeSGDOU+GlAQSnR+qndTSkMqqpKbVBhU\nE0ckLvoyEBud0vtCJoYvMNzU/T+f/FCQrEdbCGiRe13xQC8NpxEQlDlAamfxngB/\nhluBOfzyC9c9FFgGEw/tx96dWn6lg2J4tty7a4+GvYSo+1pnKhjR5HDihd8QSCk4\nf6KCoCkNAgMBAAECggEAPj4uuJkP2PIpVGNsNr2V6k26l0Jd4fY930N+//Ue1aDD\nYPWZi+Y0p4HrX7e1rpsvqhGLzu3e9hhy4TtFxZJ2+Ar6oXQuHuwUy0tDPrv3oIna\n1UF9Jx1PfpTGdLpQ+7K70uVddlUvIUUWzNX/DJZMKVP6eoAM8lK0phkatFSyUHIn\nMihAoZSc7pM3VVuxcaNZHwqKRC0pZzH7FzrQpFENX504hlZvnUc3mZmh3e2ZCbmz\nh/qQB0p0Bh3sjd0Mp7NGQm8CO0nXrUmgBx6fui2mJfybPZlSpXvEUmk5sr7WP1nq\nXLFsT32VdtnbkBg6hDtCJ1f227Gdny9asznfH455GQKBgQDUMa/zLsJd/rzs7Olv\njyXHKPLxvliia4PBZDg5SInrktubsA7sVCd+30mAhcEiIVRVIIu0msA9Ifhrxl6/\nzncu/DMYBGMlW2HMXsmifEZdL0nSd3+QYe7h6dADviCn2pR+NlNv0fS56YWVZd4+\n1PzTP68ppYMOvax5LTkAC3QOAwKBgQC+BxUOcaHOpQAN+9Q/+ZzmEu/Zc9aZIvMh\nuWkP9lE8Zv5UM8LukbjWPDh2O25DBk9IOjGxohGckqmwMpMzN9VWaIwGG3d23fKH\nMYj/E2jbLD4P+rJ91RFSO21YoN3R/Jz86AW+8qiBtN61iN0laW7xhgJKL/pb6Oin\nJFGVbE2HrwKBgAT0LAFnZA5BtjNpzIFYPC+MGy/dm8Ae9nJ7Xnyn3uBrC0l1MMP/\nqvRhThv8A2hCku9x1REgU8CZnG0XsnqT3WBxbtfuskna+kuFIvvyHspqIjURqR67\nypHnnX2Y4LZKehEAP65qnmYAt6enOysIWeaso/A69vZPI0mo7p27prf1AoGAOFaV\nMZES7dcRaxPsW4M/tx6KKagkSYaJGsiDk43ti8DlSkWGV4CwkiOMgdEg4ZIvUzSd\noxJvskHxOSHlblvxTgr06KKgCofG7boL6cPxZHl7dPVYkeHnnr+rrYkT+ruwN3L6\nsR/0QXBETwHivsLBd63JZAFRcopc36Du5yQS4FUCgYEAsv9BpZZcKxO5jlEdGBiZ\nNKt135b6GD/NQsP3+3AJhUwGuz+gB5Gekag3O0FUh1yJkBQ46TqvWlbU2Ii1H+4a\nnP4BOrrU7t686bVqByOT1SgypkMcRABAU2VW6W0lRgaBbArHzwHIswv0lKOml+zQ\nloOJQrQVJzpuNF4m//pAF5A=\n-----END PRIVATE KEY-----\n",
  client_email: 'bot@voice-bot-123.iam.gserviceaccount.com',
});

async function openAdd(page: Page) {
  await page.getByRole('button', { name: 'Add Integration' }).click();
  const dialog = page.getByRole('dialog', { name: 'Add Integration' });
  await expect(dialog).toBeVisible();
  return dialog;
}

test('an admin adds each kind, edits a name, deletes one; a member sees them read-only', async ({ page }) => {
  const admin = uniqueEmail('integrations');
  await signUp(page, admin);
  await ready(page);
  await page.getByRole('navigation', { name: 'My Account sections' }).getByRole('link', { name: 'Integrations' }).click();
  await expect(page.getByText('This account has no integrations yet.')).toBeVisible();

  // Dialogflow, with a bad config first: the error sits beside the field.
  let dialog = await openAdd(page);
  await expectAccessible(page);
  await dialog.getByLabel('Name').fill('Support bot');
  await dialog.getByLabel('Config').fill('{"type": "user"}');
  await dialog.getByRole('button', { name: 'Add' }).click();
  await expect(dialog.getByText(/Config must be a service-account key/)).toBeVisible();
  await dialog.getByLabel('Config').fill(DIALOGFLOW);
  await dialog.getByRole('button', { name: 'Add' }).click();
  await expect(dialog).toBeHidden();
  await expect(page.getByRole('cell', { name: 'Support bot', exact: true })).toBeVisible();
  await expect(page.getByRole('cell', { name: 'voice-bot-123', exact: true })).toBeVisible();
  // Focus went back to the button that opened the dialog.
  await expect(page.getByRole('button', { name: 'Add Integration' })).toBeFocused();

  // DynamoDB with a region.
  dialog = await openAdd(page);
  await dialog.getByLabel('Select Service').selectOption('dynamodb');
  await dialog.getByLabel('Name').fill('Call records');
  await dialog.getByLabel('Key').fill(AWS_KEY);
  await dialog.getByLabel('Secret').fill(AWS_SECRET);
  await dialog.getByLabel('Select Region').selectOption('eu-west-1');
  await dialog.getByLabel('Description').fill('Kept 90 days');
  await dialog.getByRole('button', { name: 'Add' }).click();
  await expect(dialog).toBeHidden();
  await expect(page.getByRole('cell', { name: 'Call records', exact: true })).toBeVisible();

  // S3; Escape closes a dialog without adding anything.
  dialog = await openAdd(page);
  await page.keyboard.press('Escape');
  await expect(dialog).toBeHidden();
  dialog = await openAdd(page);
  await dialog.getByLabel('Select Service').selectOption('s3');
  await dialog.getByLabel('Name').fill('Recordings');
  await dialog.getByLabel('Key').fill(AWS_KEY);
  await dialog.getByLabel('Secret').fill(AWS_SECRET);
  await dialog.getByRole('button', { name: 'Add' }).click();
  await expect(dialog).toBeHidden();
  await expect(page.getByRole('cell', { name: 'Recordings', exact: true })).toBeVisible();
  await expect(page.getByRole('cell', { name: '…MPLE', exact: true })).toHaveCount(2);
  expect(await page.content()).not.toContain(AWS_SECRET);
  await expectAccessible(page);

  // Edit: the name changes, the credentials are locked.
  await page.getByRole('button', { name: 'Edit Call records' }).click();
  dialog = page.getByRole('dialog', { name: 'Edit Integration' });
  await expect(dialog.getByLabel('Key')).not.toBeEditable();
  await expect(dialog.getByLabel('Secret')).not.toBeEditable();
  await expect(dialog.getByLabel('Region')).toHaveValue('Europe (Ireland) (eu-west-1)');
  await expect(dialog.getByLabel('Region')).not.toBeEditable();
  // Locked, not disabled: the keyboard reaches them, and their hint is read.
  await dialog.getByLabel('Name').focus();
  await page.keyboard.press('Tab');
  await expect(dialog.getByLabel('Key')).toBeFocused();
  await expect(dialog.getByLabel('Key')).toHaveAccessibleDescription(/Locked/);
  await expectAccessible(page);
  await dialog.getByLabel('Name').fill('DynamoDB records');
  await dialog.getByRole('button', { name: 'Update' }).click();
  await expect(dialog).toBeHidden();
  await expect(page.getByRole('cell', { name: 'DynamoDB records', exact: true })).toBeVisible();

  // Delete asks first.
  await page.getByRole('button', { name: 'Delete Recordings' }).click();
  dialog = page.getByRole('dialog', { name: 'Delete Integration' });
  await expect(dialog.getByText('Delete the integration Recordings?')).toBeVisible();
  await dialog.getByRole('button', { name: 'Yes' }).click();
  await expect(dialog).toBeHidden();
  await expect(page.getByRole('cell', { name: 'Recordings', exact: true })).toHaveCount(0);
  await expect(page.getByText('The integration Recordings is deleted.')).toBeFocused();

  // After a reload, the changes are kept.
  await page.reload();
  await ready(page);
  await expect(page.getByRole('cell', { name: 'DynamoDB records', exact: true })).toBeVisible();
  await expect(page.getByRole('cell', { name: 'Support bot', exact: true })).toBeVisible();
  await expect(page.getByRole('cell', { name: 'Recordings', exact: true })).toHaveCount(0);
  await expect(page.getByRole('cell', { name: 'Call records', exact: true })).toHaveCount(0);

  // A member sees the table but no way to change it.
  const member = uniqueEmail('reader');
  operatorAddsMember(admin, member, 'Maple-Canyon-Drift-19');
  await page.getByRole('button', { name: 'Log Out', exact: true }).click();
  await expect(page).toHaveURL(/\/login\?logged_out=1$/);
  await page.goto('/login?next=/account/integrations');
  await logIn(page, member, 'Maple-Canyon-Drift-19');
  await expect(page).toHaveURL(/\/account\/integrations$/);
  await expect(page.getByRole('cell', { name: 'DynamoDB records', exact: true })).toBeVisible();
  await expect(page.getByRole('button', { name: 'Add Integration' })).toHaveCount(0);
  await expect(page.getByRole('button', { name: /^Edit / })).toHaveCount(0);
  await expect(page.getByRole('button', { name: /^Delete / })).toHaveCount(0);
});

/** On the Integrations tab of the signed-in `page`, the session ends while
 * the Add dialog is filled in; sent, the dialog says so and keeps the typing
 * (the list is not reloaded, which would send the page to log in and lose
 * it). Its link logs `who` in in a new tab, which is closed once there. */
async function sessionEndsInAddDialog(page: Page, context: BrowserContext, who: string) {
  await page.goto('/account/integrations');
  await ready(page);
  await expect(page.getByText('This account has no integrations yet.')).toBeVisible();
  await context.clearCookies();
  const dialog = await openAdd(page);
  await dialog.getByLabel('Name').fill('Support bot');
  await dialog.getByLabel('Config').fill(DIALOGFLOW);
  await dialog.getByRole('button', { name: 'Add' }).click();
  await expect(dialog.getByText('Your session has ended.')).toBeVisible();
  await expect(page).toHaveURL(/\/account\/integrations$/);
  await expect(dialog.getByLabel('Name')).toHaveValue('Support bot');
  const opened = context.waitForEvent('page');
  await dialog.getByRole('link', { name: 'Log in again in a new tab' }).click();
  const again = await opened;
  await expect(again).toHaveURL(/\/login\?next=(%2F|\/)account(%2F|\/)integrations$/);
  await logIn(again, who, PASSWORD);
  // The page itself, not the log-in page whose `next` ends the same way.
  await expect(again).toHaveURL(/^https?:\/\/[^/]+\/account\/integrations$/);
  await again.close();
  // Back here: the window has the focus again, and asks who is signed in.
  await page.bringToFront();
  const asked = page.waitForResponse((answer) => answer.url().endsWith('/fn/signed_in_user'));
  await page.evaluate(() => window.dispatchEvent(new Event('focus')));
  await asked;
  return dialog;
}

test('a session that ended while a dialog was open is logged in again in a new tab, keeping what was typed', async ({ page, context }) => {
  const admin = uniqueEmail('integrations-ended');
  await signUp(page, admin);
  const dialog = await sessionEndsInAddDialog(page, context, admin);
  // The same user: the page stays, and the same Add works with the new session.
  await expect(dialog.getByLabel('Name')).toHaveValue('Support bot');
  await dialog.getByRole('button', { name: 'Add' }).click();
  await expect(dialog).toBeHidden();
  await expect(page.getByRole('cell', { name: 'Support bot', exact: true })).toBeVisible();
});

test('logged in again as someone else, the page that kept a dialog loads afresh as theirs', async ({ page, context, browser }) => {
  const other = uniqueEmail('globex-admin');
  const elsewhere = await browser.newContext();
  await signUp(await elsewhere.newPage(), other, 'Globex');
  await elsewhere.close();
  await signUp(page, uniqueEmail('integrations-switch'));
  const dialog = await sessionEndsInAddDialog(page, context, other);
  // The page was drawn for Acme's admin: sent now, the dialog would add to
  // Globex. It loads afresh as Globex's, without the dialog.
  await expect(dialog).toBeHidden();
  await expect(page.getByRole('banner')).toContainText('Globex');
  await expect(page.getByText('This account has no integrations yet.')).toBeVisible();
});
