import { test, expect, Page } from '@playwright/test';
import { addJsLibrary, deleteApplicationElsewhere, expectAccessible, operatorAddsMember, ready, signUp, uniqueEmail } from './helpers';

async function openTab(page: Page, name: string) {
  await ready(page);
  await page.getByRole('navigation', { name: 'My Account sections' }).getByRole('link', { name, exact: true }).click();
}

test('add a library, create an application, attach it, see it used, deploy a number to it', async ({ page }) => {
  await signUp(page, uniqueEmail('apps'));

  // A library: the count follows the typing and a syntax error is pointed at.
  await openTab(page, 'JS Libraries');
  // The tab swapped in place is said to a screen reader.
  await expect(page.getByRole('status').filter({ hasText: 'JS Libraries tab' })).toBeAttached();
  await expect(page.getByText('You have no JS libraries yet.')).toBeVisible();
  await page.getByRole('button', { name: 'Add JS Library' }).click();
  const dialog = page.getByRole('dialog', { name: 'Add JS Library' });
  await dialog.getByLabel('Name').fill('Greeting');
  await dialog.getByLabel('Description').fill('Says hello');
  const code = dialog.getByLabel('Code');
  await code.fill('function hello(name) {\n  return "Hi " + ;\n}');
  await expect(dialog.getByText(/Line 2, column 18: Unexpected token/)).toBeVisible();
  await expect(dialog.getByText('43 / 4096 characters')).toBeVisible();
  await expectAccessible(page);
  await code.fill('function hello(name) {\n  return "Hi " + name;\n}');
  await expect(dialog.getByText(/does not parse/)).toHaveCount(0);
  await dialog.getByRole('button', { name: 'Add', exact: true }).click();
  await expect(dialog).toBeHidden();
  await expect(page.getByRole('cell', { name: 'Greeting', exact: true })).toBeVisible();
  await expect(page.getByText('The JS library Greeting is added.')).toBeVisible();
  await expect(page.getByRole('cell', { name: 'No application' })).toBeVisible();

  // The list leaves the code out; Edit loads it as it opens, on Name as Add
  // does, and closing it unchanged asks nothing.
  await page.getByRole('button', { name: 'Edit Greeting' }).click();
  const edit = page.getByRole('dialog', { name: 'Edit JS Library: Greeting' });
  await expect(edit.getByLabel('Name')).toBeFocused();
  await expect(edit.getByLabel('Code')).toHaveValue('function hello(name) {\n  return "Hi " + name;\n}');
  await page.keyboard.press('Escape');
  await expect(edit).toBeHidden();
  await page.getByRole('button', { name: 'Edit Greeting' }).click();
  await edit.getByLabel('Code').fill('function hello(name) { return "Hello " + name; }');
  await edit.getByRole('button', { name: 'Update', exact: true }).click();
  await expect(edit).toBeHidden();
  await expect(page.getByText('The JS library Greeting is saved.')).toBeVisible();
  await page.getByRole('button', { name: 'Edit Greeting' }).click();
  await expect(edit.getByLabel('Code')).toHaveValue('function hello(name) { return "Hello " + name; }');
  await edit.getByRole('button', { name: 'Cancel', exact: true }).click();
  await expect(edit).toBeHidden();
  // Code that does not load says so, keeps Update off, and loads on Try
  // again; while the second try is out the first one's error is not shown
  // again, and once loaded the focus is on the code.
  let tries = 0;
  let answerSecond = () => {};
  const secondAnswered = new Promise<void>((resolve) => { answerSecond = resolve; });
  await page.route('**/fn/js_library_code', async (route) => {
    tries += 1;
    if (tries === 1) return route.abort();
    await secondAnswered;
    return route.continue();
  });
  await page.getByRole('button', { name: 'Edit Greeting' }).click();
  await expect(edit.getByRole('alert')).toContainText('The code could not be loaded');
  await expect(edit.getByRole('button', { name: 'Update', exact: true })).toBeDisabled();
  await edit.getByRole('button', { name: 'Try again' }).click();
  await expect(edit.getByText('Loading the code…')).toBeVisible();
  await page.waitForTimeout(300);
  await expect(edit.getByRole('alert')).toHaveCount(0);
  answerSecond();
  await expect(edit.getByLabel('Code')).toHaveValue('function hello(name) { return "Hello " + name; }');
  await expect(edit.getByLabel('Code')).toBeFocused();
  await expect(edit.getByRole('alert')).toHaveCount(0);
  await expect(edit.getByRole('button', { name: 'Update', exact: true })).toBeEnabled();
  await page.unroute('**/fn/js_library_code');
  await edit.getByRole('button', { name: 'Cancel', exact: true }).click();
  await expect(edit).toBeHidden();

  // An application with the library attached.
  await openTab(page, 'Applications');
  await page.getByLabel('New application name').fill('Main IVR');
  await page.getByRole('button', { name: 'Create Application' }).click();
  await expect(page.getByRole('cell', { name: 'Main IVR', exact: true })).toBeVisible();
  await expect(page.getByText('The application Main IVR is created.')).toBeVisible();
  // The same name again is refused beside the field, and the earlier
  // success goes: beside the refusal it read as if this one had worked.
  await page.getByLabel('New application name').fill('main ivr');
  await page.getByRole('button', { name: 'Create Application' }).click();
  await expect(page.getByText('You already have an application of this name: choose another.')).toBeVisible();
  await expect(page.getByText('The application Main IVR is created.')).toHaveCount(0);
  // Refused: after a reload there is still one application of that name.
  await page.reload();
  await ready(page);
  await expect(page.getByRole('row', { name: /main ivr/i })).toHaveCount(1);
  await page.getByRole('button', { name: 'Settings of Main IVR' }).click();
  const settings = page.getByRole('dialog', { name: 'Settings of Main IVR' });
  await settings.getByRole('checkbox', { name: 'Greeting' }).check();
  await expectAccessible(page);
  await settings.getByRole('button', { name: 'Save Settings' }).click();
  await expect(settings).toBeHidden();
  await expect(page.getByRole('cell', { name: 'Greeting', exact: true })).toBeVisible();

  // Renamed in its settings: a name one of one's others has is refused
  // beside the field, and the dialog stays open, the ticks as they were.
  await page.getByLabel('New application name').fill('Backup IVR');
  await page.getByRole('button', { name: 'Create Application' }).click();
  await expect(page.getByRole('cell', { name: 'Backup IVR', exact: true })).toBeVisible();
  await page.getByRole('button', { name: 'Settings of Backup IVR' }).click();
  const backup = page.getByRole('dialog', { name: 'Settings of Backup IVR' });
  const newName = backup.getByLabel('Name', { exact: true });
  await expect(newName).toHaveValue('Backup IVR');
  await backup.getByRole('checkbox', { name: 'Greeting' }).check();
  await newName.fill('main ivr');
  await backup.getByRole('button', { name: 'Save Settings' }).click();
  await expect(backup.getByText('You already have an application of this name: choose another.')).toBeVisible();
  await expect(backup.getByRole('checkbox', { name: 'Greeting' })).toBeChecked();
  // Enter in the name saves, as in every other dialog.
  await newName.fill('Night IVR');
  await newName.press('Enter');
  await expect(backup).toBeHidden();
  await expect(page.getByText('The settings of Night IVR are saved.')).toBeVisible();
  await expect(page.getByRole('row', { name: /Night IVR/ }).getByRole('cell', { name: 'Greeting', exact: true })).toBeVisible();
  await expect(page.getByRole('cell', { name: 'Backup IVR', exact: true })).toHaveCount(0);

  await openTab(page, 'JS Libraries');
  await expect(page.getByRole('cell', { name: 'Main IVR, Night IVR', exact: true })).toBeVisible();

  // A number, deployed by its owner from the Account tab.
  await openTab(page, 'Phone Numbers');
  await page.getByRole('button', { name: 'Request a Phone Number' }).click();
  const owner = page.getByRole('combobox', { name: /^Owner of / });
  await expect(owner).toHaveValue('Grace Hopper');
  const readable = (await owner.getAttribute('aria-label'))!.replace('Owner of ', '');
  await openTab(page, 'Account');
  // Choosing changes nothing until Save: arrowing through the list would
  // otherwise reroute the number's calls at every step.
  const save = page.getByRole('button', { name: `Save ${readable}` });
  await expect(save).toBeDisabled();
  await page.getByLabel(`Application for ${readable}`).selectOption({ label: 'Main IVR' });
  await page.reload();
  await ready(page);
  await expect(page.getByLabel(`Application for ${readable}`).locator('option:checked')).toHaveText('Not deployed');
  await page.getByLabel(`Application for ${readable}`).selectOption({ label: 'Main IVR' });
  await save.click();
  await expect(page.getByLabel(`OAuth token for ${readable}`)).toBeVisible();
  await expect(page.getByText(`The deployment of ${readable} is saved.`)).toBeVisible();
  await expect(save).toBeDisabled();
  await page.reload();
  await ready(page);
  await expect(page.getByLabel(`Application for ${readable}`).locator('option:checked')).toHaveText('Main IVR');
  await expectAccessible(page);
});

test('a library attached elsewhere while its Delete dialog is open is asked about again', async ({ page, context }) => {
  await signUp(page, uniqueEmail('detach'));
  await openTab(page, 'JS Libraries');
  await addJsLibrary(page, 'Greeting');
  const attach = async (on: Page, app: string) => {
    await on.getByLabel('New application name').fill(app);
    await on.getByRole('button', { name: 'Create Application' }).click();
    await on.getByRole('button', { name: `Settings of ${app}` }).click();
    const settings = on.getByRole('dialog', { name: `Settings of ${app}` });
    await settings.getByRole('checkbox', { name: 'Greeting' }).check();
    await settings.getByRole('button', { name: 'Save Settings' }).click();
    await expect(settings).toBeHidden();
  };
  await openTab(page, 'Applications');
  await attach(page, 'Main IVR');

  await openTab(page, 'JS Libraries');
  await page.getByRole('button', { name: 'Delete Greeting' }).click();
  const confirm = page.getByRole('dialog', { name: 'Delete JS Library' });
  await expect(confirm).toContainText('It is detached from the applications using it: Main IVR.');
  // Meanwhile, in another window, a second application takes the library.
  const other = await context.newPage();
  await other.goto('/account/applications');
  await ready(other);
  await attach(other, 'Night IVR');
  await other.close();

  // Yes confirmed Main IVR only: the dialog asks again, naming both.
  await confirm.getByRole('button', { name: 'Yes' }).click();
  await expect(confirm.getByText('Greeting is used by Main IVR, Night IVR. Confirm to detach it from those applications and delete it.')).toBeVisible();
  await expect(confirm).toContainText('It is detached from the applications using it: Main IVR, Night IVR.');
  await confirm.getByRole('button', { name: 'Yes' }).click();
  await expect(confirm).toBeHidden();
  await expect(page.getByText('The JS library Greeting is deleted.')).toBeVisible();
  await page.reload();
  await ready(page);
  await expect(page.getByText('You have no JS libraries yet.')).toBeVisible();
  await openTab(page, 'Applications');
  await expect(page.getByRole('cell', { name: 'Night IVR', exact: true })).toBeVisible();
  await expect(page.getByRole('cell', { name: 'Greeting', exact: true })).toHaveCount(0);
});

test('a library deleted elsewhere while Settings is open is refused once, then the dialog offers what is left', async ({ page, context }) => {
  await signUp(page, uniqueEmail('stale-settings'));
  await openTab(page, 'JS Libraries');
  await addJsLibrary(page, 'Greeting');
  await addJsLibrary(page, 'Farewell');
  await openTab(page, 'Applications');
  await page.getByLabel('New application name').fill('Main IVR');
  await page.getByRole('button', { name: 'Create Application' }).click();
  await page.getByRole('button', { name: 'Settings of Main IVR' }).click();
  const settings = page.getByRole('dialog', { name: 'Settings of Main IVR' });
  await settings.getByRole('checkbox', { name: 'Greeting' }).check();
  await settings.getByRole('checkbox', { name: 'Farewell' }).check();
  // Meanwhile, in another window, Greeting is deleted.
  const other = await context.newPage();
  await other.goto('/account/js-libraries');
  await ready(other);
  await other.getByRole('button', { name: 'Delete Greeting' }).click();
  await other.getByRole('dialog', { name: 'Delete JS Library' }).getByRole('button', { name: 'Yes' }).click();
  await expect(other.getByRole('cell', { name: 'Greeting', exact: true })).toHaveCount(0);
  await other.close();

  await settings.getByRole('button', { name: 'Save Settings' }).click();
  // Said beside the libraries, whose list is now the account's.
  await expect(settings.getByRole('group', { name: 'JS Libraries' })).toHaveAccessibleDescription('A JS library you ticked is no longer in this account (deleted meanwhile). The list is up to date now: check it, then save again.');
  // The dialog now offers what the account has; saved again, it is done.
  await expect(settings.getByRole('checkbox', { name: 'Greeting' })).toHaveCount(0);
  await settings.getByRole('checkbox', { name: 'Farewell' }).check();
  await settings.getByRole('button', { name: 'Save Settings' }).click();
  await expect(settings).toBeHidden();
  await expect(page.getByText('The settings of Main IVR are saved.')).toBeVisible();
  await expect(page.getByRole('row', { name: /Main IVR/ }).getByText('Farewell')).toBeVisible();
});

test('settings saved in another window while Settings is open are not written over', async ({ page, context }) => {
  await signUp(page, uniqueEmail('settings-version'));
  await openTab(page, 'JS Libraries');
  await addJsLibrary(page, 'Greeting');
  await addJsLibrary(page, 'Farewell');
  await openTab(page, 'Applications');
  await page.getByLabel('New application name').fill('Main IVR');
  await page.getByRole('button', { name: 'Create Application' }).click();
  await page.getByRole('button', { name: 'Settings of Main IVR' }).click();
  const settings = page.getByRole('dialog', { name: 'Settings of Main IVR' });
  await settings.getByRole('checkbox', { name: 'Farewell' }).check();
  // Meanwhile, in another window, Greeting is attached.
  const other = await context.newPage();
  await other.goto('/account/applications');
  await ready(other);
  await other.getByRole('button', { name: 'Settings of Main IVR' }).click();
  const there = other.getByRole('dialog', { name: 'Settings of Main IVR' });
  await there.getByRole('checkbox', { name: 'Greeting' }).check();
  await there.getByRole('button', { name: 'Save Settings' }).click();
  await expect(there).toBeHidden();
  await other.close();

  await settings.getByRole('button', { name: 'Save Settings' }).click();
  await expect(settings.getByText('The settings of this application were saved in another window since you opened them, so nothing was saved here.', { exact: false })).toBeVisible();
  // The dialog now shows the other window's save; the change is made again over it.
  await expect(settings.getByRole('checkbox', { name: 'Greeting' })).toBeChecked();
  await expect(settings.getByRole('checkbox', { name: 'Farewell' })).not.toBeChecked();
  await settings.getByRole('checkbox', { name: 'Farewell' }).check();
  await settings.getByRole('button', { name: 'Save Settings' }).click();
  await expect(settings).toBeHidden();
  await expect(page.getByRole('row', { name: /Main IVR/ }).getByRole('cell', { name: 'Farewell, Greeting' })).toBeVisible();
});

test('sharing an application, and Stop Sharing that asks first', async ({ page }) => {
  const email = uniqueEmail('share');
  await signUp(page, email);
  operatorAddsMember(email, uniqueEmail('bob'), 'Harbor-Quartz-Lantern-31');
  await openTab(page, 'Applications');
  await page.getByLabel('New application name').fill('Main IVR');
  await page.getByRole('button', { name: 'Create Application' }).click();
  await page.getByRole('button', { name: 'Share Main IVR' }).click();
  const share = page.getByRole('dialog', { name: 'Share Main IVR' });
  await expect(share.getByText('Nobody yet.')).toBeVisible();
  // What a search found is said, "nobody" too (the list's own line is no
  // option the arrow keys reach).
  await share.getByLabel('Share With').fill('Zed');
  await expect(share.getByRole('status').filter({ hasText: 'No user matches.' })).toBeAttached();
  await share.getByLabel('Share With').fill('Bob');
  await expect(share.getByRole('status').filter({ hasText: '1 user found.' })).toBeAttached();
  await share.getByRole('option', { name: /Bob Builder/ }).click();
  const stop = share.getByRole('button', { name: 'Stop sharing with Bob Builder' });
  await expect(stop).toBeVisible();
  // The form is drawn anew with the list: the focus goes back to Share With.
  await expect(share.getByLabel('Share With')).toBeFocused();
  // Said where a screen reader hears it.
  await expect(share.getByRole('status').getByText('Main IVR is shared with Bob Builder.')).toBeVisible();

  // Asked first; keeping it changes nothing.
  await stop.click();
  await expect(share.getByText('Stop sharing with Bob Builder? Their phone numbers deployed to this application stop running it.')).toBeVisible();
  await expect(share.getByRole('button', { name: 'Yes, Stop Sharing' })).toBeFocused();
  await share.getByRole('button', { name: 'Keep Sharing' }).click();
  await expect(stop).toBeFocused();
  await page.reload();
  await ready(page);
  await page.getByRole('button', { name: 'Share Main IVR' }).click();
  await expect(stop).toBeVisible();

  await stop.click();
  await share.getByRole('button', { name: 'Yes, Stop Sharing' }).click();
  await expect(share.getByText('Nobody yet.')).toBeVisible();
  await expect(share.getByLabel('Share With')).toBeFocused();
  await expect(share.getByRole('status').getByText('Main IVR is no longer shared with Bob Builder.')).toBeVisible();
  await expect(share.getByText('Main IVR is shared with Bob Builder.')).toHaveCount(0);
  // Done: the focus goes back to the row's Share, drawn anew by the reload.
  await share.getByRole('button', { name: 'Done' }).click();
  await expect(share).toBeHidden();
  await expect(page.getByRole('button', { name: 'Share Main IVR' })).toBeFocused();
  await page.reload();
  await ready(page);
  await page.getByRole('button', { name: 'Share Main IVR' }).click();
  await expect(share.getByText('Nobody yet.')).toBeVisible();
});

test('a refused share is not said again when Share opens for another application', async ({ page, context }) => {
  const email = uniqueEmail('share-refused');
  await signUp(page, email);
  operatorAddsMember(email, uniqueEmail('bob'), 'Harbor-Quartz-Lantern-31');
  await openTab(page, 'Applications');
  for (const name of ['Main IVR', 'Billing']) {
    await page.getByLabel('New application name').fill(name);
    await page.getByRole('button', { name: 'Create Application' }).click();
    await expect(page.getByRole('cell', { name, exact: true })).toBeVisible();
  }
  await page.getByRole('button', { name: 'Share Main IVR' }).click();
  const first = page.getByRole('dialog', { name: 'Share Main IVR' });
  await first.getByLabel('Share With').fill('Bob');
  const bob = first.getByRole('option', { name: /Bob Builder/ });
  await expect(bob).toBeVisible();
  // Meanwhile, in another window, the application is deleted.
  await deleteApplicationElsewhere(context, 'Main IVR');
  await bob.click();
  const refusal = first.locator('.alert.error');
  await expect(refusal).toHaveText('Not found: it may have been deleted meanwhile.');
  await first.getByRole('button', { name: 'Done' }).click();
  await expect(first).toBeHidden();

  await page.getByRole('button', { name: 'Share Billing' }).click();
  const second = page.getByRole('dialog', { name: 'Share Billing' });
  await expect(second.getByText('Nobody yet.')).toBeVisible();
  await expect(second.locator('.alert.error')).toHaveCount(0);
});

test('Clone makes a copy and the focus stays on its button', async ({ page }) => {
  await signUp(page, uniqueEmail('clone'));
  await openTab(page, 'Applications');
  await page.getByLabel('New application name').fill('Main IVR');
  await page.getByRole('button', { name: 'Create Application' }).click();
  const clone = page.getByRole('button', { name: 'Clone Main IVR', exact: true });
  await clone.focus();
  await page.keyboard.press('Enter');
  await expect(page.getByText(/^The copy .+ is created\.$/)).toBeVisible();
  // The list is drawn anew with the copy; the keyboard user is where they were.
  await expect(clone).toBeFocused();
  await page.keyboard.press('Enter');
  await expect(page.getByRole('button', { name: /^Clone / })).toHaveCount(3);
});
