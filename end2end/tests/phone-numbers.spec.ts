import { test, expect, Page } from '@playwright/test';
import { deleteApplicationElsewhere, expectAccessible, ready, operator, operatorAddsMember, signUp, uniqueEmail } from './helpers';

async function openTab(page: Page, name: string) {
  await ready(page);
  await page.getByRole('navigation', { name: 'My Account sections' }).getByRole('link', { name, exact: true }).click();
}

test('an admin requests a number, assigns an owner, saves, reloads and deletes it', async ({ page }) => {
  const admin = uniqueEmail('numbers');
  await signUp(page, admin);
  const bob = uniqueEmail('bob');
  operatorAddsMember(admin, bob, 'Maple-Canyon-Drift-19');

  await openTab(page, 'Phone Numbers');
  await expect(page.getByText('This account has no phone numbers yet.')).toBeVisible();
  await page.getByRole('button', { name: 'Request a Phone Number' }).click();
  const owner = page.getByRole('combobox', { name: /^Owner of \(8\d\d\) \d{3}-\d{4}$/ });
  await expect(owner).toHaveValue('Grace Hopper');
  const readable = (await owner.getAttribute('aria-label'))!.replace('Owner of ', '');
  // The list is in number order: the notice says which number is new.
  await expect(page.getByText(`${readable} is added to this account.`)).toBeVisible();
  // A demo account holds one number: the button says why it is disabled.
  await expect(page.getByRole('button', { name: 'Request a Phone Number' })).toBeDisabled();
  await expect(page.getByText('A demo account can hold one phone number.', { exact: false })).toBeVisible();
  await expectAccessible(page);

  // The picker searches as one types; Save applies the choice. It empties
  // for typing, and the owner's name stays in sight, greyed.
  await owner.click();
  await expect(owner).toHaveValue('');
  await expect(owner).toHaveAttribute('placeholder', 'Grace Hopper');
  await owner.fill('Bob');
  await page.getByRole('option', { name: new RegExp(`Bob Builder ${bob.replace(/[.+]/g, '\\$&')}`) }).click();
  await expect(owner).toHaveValue('Bob Builder');
  await expectAccessible(page);
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await expect(page.getByText('The owners are saved.')).toBeVisible();
  // Nothing is left to save, so Save stays disabled: the focus goes to the
  // section's heading rather than the page's top.
  await expect(page.getByRole('button', { name: 'Save', exact: true })).toBeDisabled();
  await expect(page.getByRole('heading', { name: 'Phone Numbers', exact: true })).toBeFocused();
  // A new choice not yet saved: "saved" no longer stands above it.
  await owner.click();
  await owner.fill('Grace');
  await page.getByRole('option', { name: /Grace Hopper/ }).click();
  await expect(page.getByText('Owner changes are applied when you save.')).toBeVisible();
  await expect(page.getByText('The owners are saved.')).toHaveCount(0);
  await owner.click();
  await owner.fill('Bob');
  await page.getByRole('option', { name: /Bob Builder/ }).click();
  await expect(page.getByText('The owners are saved.')).toBeVisible();

  await page.reload();
  await ready(page);
  await expect(page.getByRole('combobox', { name: `Owner of ${readable}` })).toHaveValue('Bob Builder');

  await page.getByRole('button', { name: `Delete ${readable}` }).click();
  const dialog = page.getByRole('dialog', { name: 'Delete Phone Number' });
  // It names the owner, a colleague here, and what the number runs (nothing).
  await expect(dialog).toContainText(`Delete ${readable}, owned by Bob Builder? It runs no application`);
  await dialog.getByRole('button', { name: 'Yes' }).click();
  await expect(page.getByText('This account has no phone numbers yet.')).toBeVisible();
  await expect(page.getByText(`${readable} is deleted.`)).toBeFocused();
  await expect(page.getByRole('button', { name: 'Request a Phone Number' })).toBeEnabled();
});

test('an admin saves the company details; a bad zip and phone are named beside their fields', async ({ page }) => {
  await signUp(page, uniqueEmail('company'));
  await openTab(page, 'Account Information');
  await expect(page.getByLabel('Company Name', { exact: true })).toHaveValue('Acme Voice');
  // The fields that may stay empty say so; the company's name is required.
  await expect(page.getByLabel('Address (optional)', { exact: true })).toBeVisible();
  await expect(page.getByLabel('Phone Number (optional)', { exact: true })).toBeVisible();
  await page.getByLabel('Address').fill('1 Main Street');
  await page.getByLabel('City').fill('Springfield');
  await page.getByLabel('State').fill('IL');
  await page.getByLabel('Zip').fill('62701_');
  await page.getByLabel('Phone Number').fill('217 555 0100');
  await page.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByText('Zip may contain only letters, digits, spaces and dashes.')).toBeVisible();
  await expect(page.getByText(/Phone Number must be an international number/)).toBeVisible();
  await expectAccessible(page);
  await page.getByLabel('Zip').fill('62701-1234');
  await page.getByLabel('Phone Number').fill('+1 217 555 0100');
  await page.getByLabel('Company Name').fill('Acme Telephony');
  await page.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByText('The account information is saved.')).toBeVisible();
  // The top bar shows the new name at once.
  await expect(page.locator('.topbar')).toContainText('Acme Telephony');
  // Kept as +12175550100, shown written for people.
  await expect(page.getByLabel('Phone Number')).toHaveValue('+1 (217) 555-0100');
  // Typing again: the notice would otherwise call unsaved values saved.
  await page.getByLabel('City').fill('Shelbyville');
  await expect(page.getByText('The account information is saved.')).toHaveCount(0);
  await page.getByLabel('City').fill('Springfield');

  await page.reload();
  await ready(page);
  await expect(page.getByLabel('City')).toHaveValue('Springfield');
  await expect(page.getByLabel('Zip')).toHaveValue('62701-1234');
  await expect(page.getByLabel('Phone Number')).toHaveValue('+1 (217) 555-0100');
  // Saved again as shown, it is the same number.
  await page.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByText('The account information is saved.')).toBeVisible();
  await expect(page.getByLabel('Phone Number')).toHaveValue('+1 (217) 555-0100');
});

/**
 * A new admin with one phone number (theirs) on the Phone Numbers tab, and
 * a member, Bob Builder: the number's owner picker and readable number.
 */
async function numberAndBob(page: Page, name: string) {
  const admin = uniqueEmail(name);
  await signUp(page, admin);
  operatorAddsMember(admin, uniqueEmail('bob'), 'Maple-Canyon-Drift-19');
  await openTab(page, 'Phone Numbers');
  await page.getByRole('button', { name: 'Request a Phone Number' }).click();
  const owner = page.getByRole('combobox', { name: /^Owner of / });
  await expect(owner).toHaveValue('Grace Hopper');
  const readable = (await owner.getAttribute('aria-label'))!.replace('Owner of ', '');
  return { owner, readable };
}

test('a number deleted with an owner change not yet saved leaves nothing to save', async ({ page }) => {
  // A panic in the page's code shows only here: the page looks the same
  // until the next click does nothing.
  const crashes: string[] = [];
  page.on('pageerror', (error) => crashes.push(error.message));
  const { owner, readable } = await numberAndBob(page, 'unsaved');
  // By keyboard: the focus alone opens no list over the rows below; a key
  // opens it, the arrows move through it and Enter picks.
  await owner.focus();
  const list = page.getByRole('listbox');
  await expect(list).toBeHidden();
  await page.keyboard.press('ArrowDown');
  await expect(list).toBeVisible();
  await page.keyboard.type('Bob');
  // The answer for "Bob" has come (the one asked on focus listed everyone).
  await expect(list.getByRole('option')).toHaveCount(1);
  await expect(list.getByRole('option', { name: /Bob Builder/ })).toBeVisible();
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('Enter');
  await expect(list).toBeHidden();
  await expect(owner).toHaveValue('Bob Builder');
  await expect(page.getByText('Owner changes are applied when you save.')).toBeVisible();

  await page.getByRole('button', { name: `Delete ${readable}` }).click();
  await page.getByRole('dialog', { name: 'Delete Phone Number' }).getByRole('button', { name: 'Yes' }).click();
  await expect(page.getByText('This account has no phone numbers yet.')).toBeVisible();
  // The next number starts with its own owner and nothing to save.
  await page.getByRole('button', { name: 'Request a Phone Number' }).click();
  await expect(page.getByRole('combobox', { name: /^Owner of / })).toHaveValue('Grace Hopper');
  await expect(page.getByRole('button', { name: 'Save', exact: true })).toBeDisabled();
  expect(crashes).toEqual([]);
});

test('an owner refused on Save is said at its number', async ({ page, context }) => {
  const { owner } = await numberAndBob(page, 'refused-owner');
  await owner.click();
  await owner.fill('Bob');
  await page.getByRole('option', { name: /Bob Builder/ }).click();
  // Meanwhile, in another window, Bob is deleted.
  const other = await context.newPage();
  await other.goto('/account/users');
  await ready(other);
  await other.getByRole('button', { name: 'Delete Bob Builder' }).click();
  await other.getByRole('dialog', { name: 'Delete User' }).getByRole('button', { name: 'Yes' }).click();
  await expect(other.getByRole('button', { name: 'Delete Bob Builder' })).toHaveCount(0);
  await other.close();

  await page.getByRole('button', { name: 'Save', exact: true }).click();
  const why = 'Choose the owner among the users of this account.';
  await expect(page.getByRole('row').filter({ has: owner }).getByText(why)).toBeVisible();
  await expect(owner).toHaveAttribute('aria-invalid', 'true');
  // The focus goes to the refused choice, which its error describes.
  await expect(owner).toBeFocused();
  await expect(page.getByText(why)).toHaveCount(1);
  await page.reload();
  await ready(page);
  await expect(page.getByRole('combobox', { name: /^Owner of / })).toHaveValue('Grace Hopper');
});

test('a number deleted elsewhere while its owner change waits is said under the table, and the other change is kept', async ({ page, context }) => {
  const admin = uniqueEmail('gone-number');
  await signUp(page, admin);
  operatorAddsMember(admin, uniqueEmail('bob'), 'Maple-Canyon-Drift-19');
  operator(['account', 'plan', '--account-of', admin, '--plan', 'full']);
  await openTab(page, 'Phone Numbers');
  const owners = page.getByRole('combobox', { name: /^Owner of / });
  for (const count of [1, 2]) {
    await page.getByRole('button', { name: 'Request a Phone Number' }).click();
    await expect(owners).toHaveCount(count);
  }
  const [gone, kept] = [owners.nth(0), owners.nth(1)];
  const goneNumber = (await gone.getAttribute('aria-label'))!.replace('Owner of ', '');
  for (const owner of [gone, kept]) {
    await owner.click();
    await owner.fill('Bob');
    await page.getByRole('option', { name: /Bob Builder/ }).click();
    await expect(owner).toHaveValue('Bob Builder');
  }
  // Meanwhile, in another window, the first number is deleted.
  const other = await context.newPage();
  await other.goto('/account/phone-numbers');
  await ready(other);
  await other.getByRole('button', { name: `Delete ${goneNumber}` }).click();
  await other.getByRole('dialog', { name: 'Delete Phone Number' }).getByRole('button', { name: 'Yes' }).click();
  await expect(other.getByRole('combobox', { name: /^Owner of / })).toHaveCount(1);
  await other.close();

  await page.getByRole('button', { name: 'Save', exact: true }).click();
  // Its row is gone once the list reloads: the refusal is said under the table, once.
  const why = page.getByText('A number you changed was deleted meanwhile (by another admin), so nothing was saved.', { exact: false });
  await expect(owners).toHaveCount(1);
  await expect(why).toHaveCount(1);
  await expect(page.getByRole('row').filter({ has: why })).toHaveCount(0);
  // The other change waits, unsaved (its row is the only one now), also
  // through a look at another tab, and saves.
  await expect(owners.first()).toHaveValue('Bob Builder');
  await openTab(page, 'Account');
  await openTab(page, 'Phone Numbers');
  await expect(owners.first()).toHaveValue('Bob Builder');
  await expect(page.getByText('Owner changes are applied when you save.')).toBeVisible();
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await expect(page.getByText('The owners are saved.')).toBeVisible();
  await page.reload();
  await ready(page);
  await expect(page.getByRole('combobox', { name: /^Owner of / })).toHaveValue('Bob Builder');
});

test('a deployment refused on Save is said at its number', async ({ page, context }) => {
  const { readable } = await numberAndBob(page, 'refused-deploy');
  // With no application yet, the row says where one comes from.
  await openTab(page, 'Account');
  const noApplication = 'No application yet: one you create, or one a colleague shares with you, is listed here.';
  await expect(page.getByRole('row').filter({ has: page.getByLabel(`Application for ${readable}`) }).getByText(noApplication)).toBeVisible();
  await openTab(page, 'Applications');
  await page.getByLabel('New application name').fill('Main IVR');
  await page.getByRole('button', { name: 'Create Application' }).click();
  await expect(page.getByRole('cell', { name: 'Main IVR', exact: true })).toBeVisible();
  await openTab(page, 'Account');
  const app = page.getByLabel(`Application for ${readable}`);
  await expect(page.getByText(noApplication)).toHaveCount(0);
  await app.selectOption({ label: 'Main IVR' });
  // Meanwhile, in another window, the application is deleted.
  await deleteApplicationElsewhere(context, 'Main IVR');

  await page.getByRole('button', { name: `Save ${readable}` }).click();
  const why = 'Choose one of your applications.';
  await expect(page.getByRole('row').filter({ has: app }).getByText(why)).toBeVisible();
  await expect(app).toHaveAttribute('aria-invalid', 'true');
  await expect(app).toHaveAccessibleDescription(why);
  await expect(app).toBeFocused();
  await page.reload();
  await ready(page);
  await expect(page.getByLabel(`Application for ${readable}`).locator('option:checked')).toHaveText('Not deployed');
});

test('one notice at a time on the Phone Numbers tab; a choice not saved outlives another number\'s Save', async ({ page }) => {
  const admin = uniqueEmail('many-numbers');
  await signUp(page, admin);
  operator(['account', 'plan', '--account-of', admin, '--plan', 'full']);
  operatorAddsMember(admin, uniqueEmail('bob'), 'Maple-Canyon-Drift-19');
  await openTab(page, 'Phone Numbers');
  const request = page.getByRole('button', { name: 'Request a Phone Number' });
  const added = page.getByText(/ is added to this account\.$/);
  const saved = page.getByText('The owners are saved.');
  await request.click();
  await expect(added).toBeVisible();
  await request.click();
  await expect(page.getByRole('combobox', { name: /^Owner of / })).toHaveCount(2);
  const first = page.getByRole('combobox', { name: /^Owner of / }).first();
  const readable = (await first.getAttribute('aria-label'))!.replace('Owner of ', '');

  // A Save takes away the notice of the number added before it...
  await first.click();
  await first.fill('Bob');
  await page.getByRole('option', { name: /Bob Builder/ }).click();
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await expect(saved).toBeVisible();
  await expect(added).toHaveCount(0);
  await first.click();
  await first.fill('Grace');
  await page.getByRole('option', { name: /Grace Hopper/ }).click();
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await expect(saved).toBeVisible();
  // ...and a number added takes away "saved".
  await request.click();
  await expect(page.getByRole('combobox', { name: /^Owner of / })).toHaveCount(3);
  await expect(added).toBeVisible();
  await expect(saved).toHaveCount(0);

  // On the Account tab: an application chosen for one number, not saved,
  // is still chosen, and can be saved, after another number's Save.
  await openTab(page, 'Applications');
  await page.getByLabel('New application name').fill('Main IVR');
  await page.getByRole('button', { name: 'Create Application' }).click();
  await expect(page.getByRole('cell', { name: 'Main IVR', exact: true })).toBeVisible();
  await openTab(page, 'Account');
  const others = page.getByRole('table', { name: 'Phone numbers you own' }).getByRole('combobox', { name: /^Application for / });
  await expect(others).toHaveCount(3);
  const last = (await others.nth(2).getAttribute('id'))!;
  const lastNumber = (await page.locator(`label[for="${last}"]`).textContent())!.replace('Application for ', '');
  await page.getByLabel(`Application for ${lastNumber}`).selectOption({ label: 'Main IVR' });
  await page.getByLabel(`Application for ${readable}`).selectOption({ label: 'Main IVR' });
  await page.getByRole('button', { name: `Save ${readable}` }).click();
  await expect(page.getByText(`The deployment of ${readable} is saved.`)).toBeVisible();
  await expect(page.getByLabel(`Application for ${lastNumber}`).locator('option:checked')).toHaveText('Main IVR');
  await expect(page.getByRole('button', { name: `Save ${lastNumber}` })).toBeEnabled();
  await page.getByRole('button', { name: `Save ${lastNumber}` }).click();
  await expect(page.getByText(`The deployment of ${lastNumber} is saved.`)).toBeVisible();
  await page.reload();
  await ready(page);
  for (const number of [readable, lastNumber]) {
    await expect(page.getByLabel(`Application for ${number}`).locator('option:checked')).toHaveText('Main IVR');
    // Deployed, with no Stripe account connected: the token list says how to get one.
    const row = page.getByRole('row').filter({ has: page.getByLabel(`Application for ${number}`) });
    await expect(row.getByText('To choose a token, connect a Stripe account on the OAuth Tokens tab.')).toBeVisible();
  }

  // Taking a number off its application asks first; Cancel leaves it on.
  await page.getByLabel(`Application for ${readable}`).selectOption({ label: 'Not deployed' });
  await page.getByRole('button', { name: `Save ${readable}` }).click();
  const stop = page.getByRole('dialog', { name: 'Stop Deployment' });
  await expect(stop.getByText(`Stop running Main IVR on ${readable}? Calls to it reach no application until it is deployed again.`)).toBeVisible();
  await stop.getByRole('button', { name: 'Cancel' }).click();
  await expect(stop).toBeHidden();
  await page.reload();
  await ready(page);
  await expect(page.getByLabel(`Application for ${readable}`).locator('option:checked')).toHaveText('Main IVR');
  await page.getByLabel(`Application for ${readable}`).selectOption({ label: 'Not deployed' });
  await page.getByRole('button', { name: `Save ${readable}` }).click();
  await stop.getByRole('button', { name: 'Yes' }).click();
  await expect(stop).toBeHidden();
  await expect(page.getByText(`${readable} no longer runs Main IVR: calls to it reach no application.`)).toBeVisible();
  await page.reload();
  await ready(page);
  await expect(page.getByLabel(`Application for ${readable}`).locator('option:checked')).toHaveText('Not deployed');
  await expect(page.getByLabel(`Application for ${lastNumber}`).locator('option:checked')).toHaveText('Main IVR');
});
