import { test, expect, Locator, Page } from '@playwright/test';
import { addJsLibrary, certificate, expectAccessible, ready, operatorAddsMember, requestPhoneNumber, signUp, uniqueEmail } from './helpers';

const SIGNED_OUT = [
  '/login',
  '/signup',
  '/forgot-password',
  '/login/two-factor',
  '/reset-password?token=not-a-token',
  '/verify-email?token=not-a-token',
  '/confirm-email?token=not-a-token',
  '/activate?token=not-a-token',
  '/no-such-page',
];

const TABS = [
  '/account',
  '/account/users',
  '/account/account-information',
  '/account/phone-numbers',
  '/account/certificates',
  '/account/oauth-tokens',
  '/account/js-libraries',
  '/account/integrations',
  '/account/applications',
  '/account/activity',
];

test('every signed-out page passes axe', async ({ page }) => {
  for (const path of SIGNED_OUT) {
    await page.goto(path);
    await ready(page);
    await expectAccessible(page);
  }
});

/**
 * Opens a dialog with the keyboard from `opener`, and checks what a keyboard
 * user relies on: axe finds nothing serious with it open, focus starts inside
 * it and Tab never leaves it, Escape closes it and focus goes back to the
 * button that opened it.
 */
async function checkDialog(page: Page, opener: Locator, name: string | RegExp) {
  await opener.focus();
  await page.keyboard.press('Enter');
  const dialog = page.getByRole('dialog', { name });
  await expect(dialog).toBeVisible();
  await expectAccessible(page);
  const inside = () => page.evaluate(() => !!document.activeElement?.closest('dialog[open]'));
  expect(await inside(), 'focus moves into the dialog').toBe(true);
  const cancel = dialog.getByRole('button', { name: 'Cancel', exact: true });
  if (await dialog.getByRole('button', { name: 'Yes', exact: true }).count()) {
    // A question before something irreversible: Enter must not answer Yes.
    await expect(cancel, 'a confirmation opens on Cancel').toBeFocused();
    // The question is read with the dialog's name, not only "Cancel, button".
    const question = (await dialog.locator('p').first().innerText()).trim();
    await expect(dialog, 'the question describes the dialog').toHaveAccessibleDescription(question);
  }
  for (let i = 0; i < 12; i++) {
    await page.keyboard.press('Tab');
    expect(await inside(), `focus stays in the dialog after ${i + 1} Tab presses`).toBe(true);
  }
  await page.keyboard.press('Shift+Tab');
  expect(await inside()).toBe(true);
  await page.keyboard.press('Escape');
  await expect(dialog).toBeHidden();
  await expect(opener).toBeFocused();
}

test('every tab and every dialog passes axe, and each dialog traps focus, closes with Escape and gives focus back', async ({ page }) => {
  // A panic in the page's code (a dialog's handler reaching a removed
  // signal) shows only here: the page looks the same until the next click.
  const crashes: string[] = [];
  page.on('pageerror', (error) => crashes.push(error.message));
  page.on('console', (message) => {
    if (message.text().includes('panicked')) crashes.push(message.text());
  });
  const email = uniqueEmail('a11y');
  await signUp(page, email);
  operatorAddsMember(email, uniqueEmail('bob'), 'Harbor-Quartz-Lantern-31');
  for (const path of TABS) {
    await page.goto(path);
    await ready(page);
    await expectAccessible(page);
  }

  // Rows to open Edit, Delete and Settings dialogs on.
  await requestPhoneNumber(page);
  await page.goto('/account/js-libraries');
  await ready(page);
  await checkDialog(page, page.getByRole('button', { name: 'Add JS Library' }), 'Add JS Library');
  await addJsLibrary(page, 'Greeting');
  await checkDialog(page, page.getByRole('button', { name: 'Edit Greeting' }), 'Edit JS Library: Greeting');
  await checkDialog(page, page.getByRole('button', { name: 'Delete Greeting' }), /Delete/);

  await page.goto('/account/applications');
  await ready(page);
  await page.getByLabel('New application name').fill('Main IVR');
  await page.getByRole('button', { name: 'Create Application' }).click();
  await expect(page.getByRole('cell', { name: 'Main IVR', exact: true })).toBeVisible();
  await checkDialog(page, page.getByRole('button', { name: 'Settings of Main IVR' }), 'Settings of Main IVR');
  await checkDialog(page, page.getByRole('button', { name: 'Share Main IVR' }), 'Share Main IVR');
  // Inside a dialog, an open list of names takes the first Escape; the next
  // one closes the dialog.
  await page.getByRole('button', { name: 'Share Main IVR' }).click();
  const share = page.getByRole('dialog', { name: 'Share Main IVR' });
  await share.getByLabel('Share With').fill('Bob');
  await expect(share.getByRole('option', { name: /Bob Builder/ })).toBeVisible();
  await page.keyboard.press('Escape');
  await expect(share.getByRole('listbox')).toBeHidden();
  await expect(share).toBeVisible();
  await page.keyboard.press('Escape');
  await expect(share).toBeHidden();
  // The focus goes back to Share once the dialog has closed: moved on
  // before that, it would land there after the next focus, and the next
  // Enter would open Share again instead of Delete.
  await expect(page.getByRole('button', { name: 'Share Main IVR' })).toBeFocused();
  expect(crashes, 'Escape with the focus in the picker').toEqual([]);
  await checkDialog(page, page.getByRole('button', { name: 'Delete Main IVR' }), /Delete/);

  await page.goto('/account/users');
  await ready(page);
  await checkDialog(page, page.getByRole('button', { name: 'Add User' }), 'Add User');
  await checkDialog(page, page.getByRole('button', { name: 'Edit Bob Builder' }), 'Edit User: Bob Builder');
  await checkDialog(page, page.getByRole('button', { name: 'Disable Bob Builder' }), /Disable/);
  await checkDialog(page, page.getByRole('button', { name: 'Delete Bob Builder' }), /Delete/);

  await page.goto('/account/phone-numbers');
  await ready(page);
  await checkDialog(page, page.getByRole('button', { name: /^Delete / }).first(), /Delete|Release/);

  await page.goto('/account/certificates');
  await ready(page);
  await checkDialog(page, page.getByRole('button', { name: 'Add Certificate' }), 'Add Certificate');
  const client = certificate('a11y client');
  await page.getByRole('button', { name: 'Add Certificate' }).click();
  const adding = page.getByRole('dialog', { name: 'Add Certificate' });
  await adding.getByLabel('Domain').fill('api.a11y.example');
  await adding.getByLabel('Certificate').fill(client.cert);
  await adding.getByLabel('Private Key').fill(client.key);
  await adding.getByRole('button', { name: 'Add' }).click();
  await expect(adding).toBeHidden();
  await checkDialog(page, page.getByRole('button', { name: 'Replace the certificate for api.a11y.example' }), 'Replace Certificate: api.a11y.example');

  await page.goto('/account/integrations');
  await ready(page);
  await checkDialog(page, page.getByRole('button', { name: 'Add Integration' }), 'Add Integration');

  // Escape answered none of the questions: after a reload everything they
  // asked about is still there, and Bob is still active.
  await page.goto('/account/js-libraries');
  await ready(page);
  await expect(page.getByRole('cell', { name: 'Greeting', exact: true })).toBeVisible();
  await page.goto('/account/applications');
  await ready(page);
  await expect(page.getByRole('cell', { name: 'Main IVR', exact: true })).toBeVisible();
  await page.goto('/account/users');
  await ready(page);
  await expect(page.getByRole('row', { name: /Bob Builder/ })).toContainText('Active');
  await page.goto('/account/phone-numbers');
  await ready(page);
  await expect(page.getByRole('button', { name: /^Delete / })).toHaveCount(1);
  expect(crashes).toEqual([]);
});

test('a keyboard user skips the top bar and the tabs with the first Tab', async ({ page }) => {
  await signUp(page, uniqueEmail('skip'));
  await page.goto('/account/js-libraries');
  await ready(page);
  await page.keyboard.press('Tab');
  const skip = page.getByRole('link', { name: 'Skip to content' });
  await expect(skip).toBeFocused();
  await expect(skip).toBeInViewport();
  await page.keyboard.press('Enter');
  await expect(page).toHaveURL(/\/account\/js-libraries$/);
  await page.keyboard.press('Tab');
  const inMain = await page.evaluate(() => !!document.activeElement?.closest('main'));
  expect(inMain, 'the next Tab lands in the tab content').toBe(true);
});
