import { test, expect, Locator, Page } from '@playwright/test';
import {
  expectAccessible,
  ready,
  linkFromMailFolder,
  logIn,
  operator,
  operatorAddsMember,
  PASSWORD,
  signUp,
  uniqueEmail,
} from './helpers';

test('an admin invites a user who activates, then edits and deletes them', async ({ page }) => {
  const admin = uniqueEmail('boss');
  const invited = uniqueEmail('newbie');
  await signUp(page, admin);
  await ready(page);
  const tabs = page.getByRole('navigation', { name: 'My Account sections' });
  await tabs.getByRole('link', { name: 'Manage Users' }).click();
  await expect(page.getByText('You are the only user of this account so far.')).toBeVisible();

  // Add User: a real dialog, with errors beside the fields.
  await page.getByRole('button', { name: 'Add User' }).click();
  let dialog = page.getByRole('dialog', { name: 'Add User' });
  await expect(dialog).toBeVisible();
  await expectAccessible(page);
  await dialog.getByLabel('First Name').fill('Nina');
  await dialog.getByRole('button', { name: 'Add' }).click();
  await expect(dialog.getByText('Last Name is required.')).toBeVisible();
  await dialog.getByLabel('Last Name').fill('Newbie');
  await dialog.getByLabel('Email Address').fill(invited);
  // What each permission gives is said beside it.
  await expect(dialog.getByRole('group', { name: 'Permissions' })).toHaveAccessibleDescription(/^Can Create: create applications\. Can Share: share their applications/);
  await dialog.getByLabel('Can Create').check();
  await dialog.getByRole('button', { name: 'Add' }).click();
  await expect(dialog).toBeHidden();
  await expect(page.getByRole('button', { name: 'Add User' })).toBeFocused();
  await expect(page.getByText(`Nina Newbie is invited: the activation email went to ${invited}.`)).toBeVisible();
  const row = page.getByRole('row', { name: /Nina Newbie/ });
  await expect(row).toBeVisible();
  await expect(row.getByRole('cell', { name: 'Invited' })).toBeVisible();
  await expectAccessible(page);

  // Disabling an invitee puts the invitation on hold, and says so: they
  // have no log-in to end. Enabling lets it be activated again.
  await page.getByRole('button', { name: 'Disable Nina Newbie' }).click();
  dialog = page.getByRole('dialog', { name: 'Disable User' });
  await expect(dialog.getByText('Their invitation is put on hold: its link cannot be activated until you enable them.', { exact: false })).toBeVisible();
  await dialog.getByRole('button', { name: 'Yes' }).click();
  await expect(dialog).toBeHidden();
  await expect(page.getByText("Nina Newbie's invitation is on hold.")).toBeVisible();
  await expect(row.getByRole('cell', { name: 'Disabled · Invited' })).toBeVisible();
  await page.getByRole('button', { name: 'Enable Nina Newbie' }).click();
  dialog = page.getByRole('dialog', { name: 'Enable User' });
  await expect(dialog.getByText('Their invitation can be activated again while its link lasts.', { exact: false })).toBeVisible();
  await dialog.getByRole('button', { name: 'Yes' }).click();
  await expect(dialog).toBeHidden();
  await expect(page.getByText("Nina Newbie's invitation is no longer on hold.", { exact: false })).toBeVisible();
  await expect(row.getByRole('cell', { name: 'Invited', exact: true })).toBeVisible();

  // The invited user opens the activation email, sets a password, is signed in, sees no admin tab.
  await page.getByRole('button', { name: 'Log Out', exact: true }).click();
  await expect(page).toHaveURL(/\/login\?logged_out=1$/);
  const link = await linkFromMailFolder(invited, '/activate');
  await page.goto(link);
  await ready(page);
  await expect(page.getByText(`You are invited to join Acme Voice on Voice Console. You will log in as ${invited}.`)).toBeVisible();
  await expectAccessible(page);
  await page.getByLabel('New Password').fill('Maple-Canyon-Drift-19');
  await page.getByRole('button', { name: 'Activate Account' }).click();
  await expect(page).toHaveURL(/\/account$/);
  await expect(page.locator('.topbar')).toContainText('Nina Newbie');
  await ready(page);
  await expect(tabs.getByRole('link', { name: 'Manage Users' })).toHaveCount(0);
  await page.getByRole('button', { name: 'Log Out', exact: true }).click();
  await expect(page).toHaveURL(/\/login\?logged_out=1$/);

  // The admin edits their permissions and sees the table update.
  await page.goto('/login?next=/account/users');
  await logIn(page, admin, 'Velvet-Otter-Sunrise-42');
  await expect(page).toHaveURL(/\/account\/users$/);
  await ready(page);
  await expect(row.getByRole('cell', { name: 'Active' })).toBeVisible();
  await page.getByRole('button', { name: 'Edit Nina Newbie' }).click();
  dialog = page.getByRole('dialog', { name: 'Edit User' });
  await expect(dialog.getByLabel('Can Create')).toBeChecked();
  await dialog.getByLabel('Can Share').check();
  await dialog.getByLabel('Yes').check();
  await dialog.getByRole('button', { name: 'Update' }).click();
  await expect(dialog).toBeHidden();
  await expect(row.getByRole('cell', { name: 'Yes' })).toHaveCount(3);
  await expect(page.getByText('Nina Newbie is saved.')).toBeVisible();
  // The reloaded table draws the row anew: the focus is on its new Edit button.
  await expect(page.getByRole('button', { name: 'Edit Nina Newbie' })).toBeFocused();

  // A new address for an active user waits for their confirmation, and the admin is told so.
  const moved = uniqueEmail('nina-new');
  await page.getByRole('button', { name: 'Edit Nina Newbie' }).click();
  await dialog.getByLabel('Email Address').fill(moved);
  await dialog.getByRole('button', { name: 'Update' }).click();
  await expect(dialog).toBeHidden();
  await expect(page.getByText(`A confirmation link went to ${moved}: Nina Newbie's address changes when they open it.`)).toBeVisible();
  // The row keeps the address in use, with the one it waits on under it,
  // and Edit User says so too.
  const emailCell = row.locator('td.email');
  await expect(emailCell).toContainText(invited);
  await expect(emailCell.locator('.pending-email')).toHaveText(`Changing to ${moved}`);
  await page.getByRole('button', { name: 'Edit Nina Newbie' }).click();
  await expect(dialog.getByLabel('Email Address')).toHaveValue(invited);
  await expect(dialog.getByText(`Waiting for confirmation from ${moved}: the address changes when the user opens the link sent there.`)).toBeVisible();
  // Read with the field, after its hint: editing it, one hears the change waiting.
  await expect(dialog.getByLabel('Email Address')).toHaveAccessibleDescription(/Waiting for confirmation from \S+: the address changes when the user opens the link sent there\./);
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await expect(dialog).toBeHidden();

  // Search narrows the table on the server.
  await page.getByLabel('Search users').fill('nina');
  await expect(page.getByRole('row', { name: /Grace Hopper/ })).toHaveCount(0);
  await expect(row).toBeVisible();
  await page.getByLabel('Search users').fill('');
  // Wait for the full table: clicking while rows re-render could hit another row.
  await expect(page.getByRole('row', { name: /Grace Hopper/ })).toBeVisible();

  // Delete asks first.
  await page.getByRole('button', { name: 'Delete Nina Newbie' }).click();
  dialog = page.getByRole('dialog', { name: 'Delete User' });
  await expect(dialog.getByText(`Delete Nina Newbie (${invited})?`)).toBeVisible();
  await expect(dialog.getByText('Their applications, JS libraries, phone numbers, certificates and OAuth tokens pass to you.', { exact: false })).toBeVisible();
  await dialog.getByRole('button', { name: 'Yes' }).click();
  await expect(dialog).toBeHidden();
  await expect(page.getByRole('row', { name: /Nina Newbie/ })).toHaveCount(0);
  // The row's buttons are gone: the focus is on what was done.
  await expect(page.getByText('Nina Newbie is deleted. What they owned is yours now.')).toBeFocused();
});

test('an admin disables a member, who cannot log in, and enables them again', async ({ page, browser }) => {
  const admin = uniqueEmail('boss');
  const member = uniqueEmail('member');
  const memberPassword = 'Maple-Canyon-Drift-19';
  await signUp(page, admin);
  operatorAddsMember(admin, member, memberPassword);
  await page.goto('/account/users');
  await ready(page);
  const row = page.getByRole('row', { name: /Bob Builder/ });
  await expect(row.getByRole('cell', { name: 'Active' })).toBeVisible();
  // Bob is signed in elsewhere while he is disabled.
  const other = await browser.newContext();
  const memberPage = await other.newPage();
  await memberPage.goto('/login');
  await logIn(memberPage, member, memberPassword);
  await expect(memberPage).toHaveURL(/\/account$/);

  // Disable asks first, then the row shows the state.
  await page.getByRole('button', { name: 'Disable Bob Builder' }).click();
  const dialog = page.getByRole('dialog', { name: 'Disable User' });
  await expect(dialog.getByText(`Disable Bob Builder (${member})?`)).toBeVisible();
  await expectAccessible(page);
  await dialog.getByRole('button', { name: 'Yes' }).click();
  await expect(dialog).toBeHidden();
  await expect(row.getByRole('cell', { name: 'Disabled' })).toBeVisible();
  await expect(page.getByRole('button', { name: 'Enable Bob Builder' })).toBeVisible();
  await expect(page.getByText('Bob Builder is disabled and logged out everywhere.')).toBeFocused();
  await expectAccessible(page);
  // His session is over: his next page is the log-in page.
  await memberPage.goto('/account');
  await expect(memberPage).toHaveURL(/\/login/);
  // Edit offers no Reset Password for them (it would be refused every
  // time), and says why.
  await page.getByRole('button', { name: 'Edit Bob Builder' }).click();
  const edit = page.getByRole('dialog', { name: 'Edit User' });
  await expect(edit.getByText('This user is disabled. Enable them first; then they can get a link by email.')).toBeVisible();
  await expect(edit.getByRole('button', { name: 'Reset Password' })).toHaveCount(0);
  // Nor an address change, which also goes by a link.
  await expect(edit.getByLabel('Email Address')).not.toBeEditable();
  await expect(edit.getByText('Enable the user first to change their address: the new one gets a link to confirm it.')).toBeVisible();
  await edit.getByRole('button', { name: 'Cancel' }).click();
  await expect(edit).toBeHidden();
  // The next dialog opening starts another task: the notice of this one goes.
  await page.getByRole('button', { name: 'Enable Bob Builder' }).click();
  const asked = page.getByRole('dialog', { name: 'Enable User' });
  await expect(asked).toBeVisible();
  await expect(page.getByText('Bob Builder is disabled and logged out everywhere.')).toHaveCount(0);
  await asked.getByRole('button', { name: 'Cancel' }).click();
  await expect(asked).toBeHidden();

  // The filter shows only the disabled user, then everyone again. The
  // address keeps the search, filter and sort: a reload shows the same.
  await page.getByLabel('Show').selectOption('disabled');
  await expect(page.getByRole('row', { name: /Grace Hopper/ })).toHaveCount(0);
  await expect(row).toBeVisible();
  await page.getByLabel('Search Users').fill('bob');
  await page.getByLabel('Sort By').selectOption('email');
  await expect(page).toHaveURL(/\/account\/users\?search=bob&show=disabled&sort=email$/);
  await page.reload();
  await ready(page);
  await expect(page.getByLabel('Search Users')).toHaveValue('bob');
  await expect(page.getByLabel('Show')).toHaveValue('disabled');
  await expect(page.getByLabel('Sort By')).toHaveValue('email');
  await expect(row).toBeVisible();
  await expect(page.getByRole('row', { name: /Grace Hopper/ })).toHaveCount(0);
  // The tab's own link is its bare address: the whole list again.
  await page.getByRole('link', { name: 'Manage Users' }).click();
  await expect(page).toHaveURL(/\/account\/users$/);
  await expect(page.getByLabel('Search Users')).toHaveValue('');
  await expect(page.getByLabel('Show')).toHaveValue('all');
  await expect(page.getByLabel('Sort By')).toHaveValue('name');
  await expect(page.getByRole('row', { name: /Grace Hopper/ })).toBeVisible();
  // Back: the filtered list again, its controls set from the address.
  await page.goBack();
  await expect(page).toHaveURL(/\/account\/users\?search=bob&show=disabled&sort=email$/);
  await expect(page.getByLabel('Search Users')).toHaveValue('bob');
  await expect(page.getByLabel('Show')).toHaveValue('disabled');
  await expect(page.getByLabel('Sort By')).toHaveValue('email');
  await expect(page.getByRole('row', { name: /Grace Hopper/ })).toHaveCount(0);
  // The filters undone by hand.
  await page.getByLabel('Search Users').fill('');
  await page.getByLabel('Sort By').selectOption('name');
  await page.getByLabel('Show').selectOption('all');
  await expect(page.getByRole('row', { name: /Grace Hopper/ })).toBeVisible();
  await expect(page).toHaveURL(/\/account\/users$/);
  // Sorted by status, disabled Bob comes after the active users, whom he
  // comes before by name. (Row 0 is the header.)
  const rows = page.getByRole('table', { name: 'Users of this account' }).getByRole('row');
  await expect(rows.last()).toContainText('Grace Hopper');
  await page.getByLabel('Sort By').selectOption('status');
  await expect(page).toHaveURL(/\/account\/users\?sort=status$/);
  await expect(rows.last()).toContainText('Bob Builder');
  await expect(rows.nth(1)).toContainText('Grace Hopper');
  await page.getByLabel('Sort By').selectOption('name');
  await expect(page).toHaveURL(/\/account\/users$/);
  // A tab pasted from a spreadsheet searches as a space, and a search in
  // the address that the server would refuse (a control character, too
  // long) is cut to one it takes: the list and its search box stay.
  // A search's result is said to a screen reader, not only drawn.
  await page.getByLabel('Search Users').fill('nobody-has-this');
  await expect(page.getByRole('status').filter({ hasText: 'No user matches this search and filter.' })).toBeAttached();
  await page.getByLabel('Search Users').fill('bob');
  await expect(page.getByRole('status').filter({ hasText: '1 user shown.' })).toBeAttached();
  await page.getByLabel('Search Users').fill('bob\t');
  await expect(page.getByLabel('Search Users')).toHaveValue('bob ');
  await expect(page.getByRole('row', { name: /Grace Hopper/ })).toHaveCount(0);
  await expect(row).toBeVisible();
  await page.goto('/account/users?search=bob%09');
  await ready(page);
  await expect(row).toBeVisible();
  await page.goto(`/account/users?search=${'b'.repeat(150)}`);
  await ready(page);
  await expect(page.getByText('No user matches this search and filter.')).toBeVisible();
  await expect(page.getByLabel('Search Users')).toHaveValue('b'.repeat(100));
  await page.goto('/account/users');
  await ready(page);

  // The member is refused at log-in with the reason.
  await memberPage.goto('/login');
  await logIn(memberPage, member, memberPassword);
  await expect(memberPage.getByText('This user is disabled. Ask an admin of your account.')).toBeVisible();
  await expect(memberPage).toHaveURL(/\/login/);
  // What was typed stays, to try again once enabled; the focus is back on
  // the button, not lost to the top of the page.
  await expect(memberPage.getByLabel('Email Address')).toHaveValue(member);
  await expect(memberPage.getByRole('button', { name: 'Log In' })).toBeFocused();

  // What a disabled user did is what an admin looks for: the Activity
  // tab's User filter offers them (the phone numbers' owner picker does not).
  await page.goto('/account/activity');
  await ready(page);
  await page.getByRole('combobox', { name: 'User' }).fill('Bob');
  await page.getByRole('option', { name: /Bob Builder/ }).click();
  await expect(page).toHaveURL(/\/account\/activity\?user=\d+$/);
  await page.goto('/account/users');
  await ready(page);

  // Enabled again: the row is active and the member logs in.
  await page.getByRole('button', { name: 'Enable Bob Builder' }).click();
  const enable = page.getByRole('dialog', { name: 'Enable User' });
  await enable.getByRole('button', { name: 'Yes' }).click();
  await expect(enable).toBeHidden();
  await expect(row.getByRole('cell', { name: 'Active' })).toBeVisible();
  await memberPage.goto('/login');
  await logIn(memberPage, member, memberPassword);
  await expect(memberPage).toHaveURL(/\/account$/);
  await ready(memberPage);

  // Logged out from another window, the first one's next tab goes to the
  // log-in page, which would bring them back to that tab.
  const elsewhere = await other.newPage();
  await elsewhere.goto('/account');
  await ready(elsewhere);
  await elsewhere.getByRole('button', { name: 'Log Out', exact: true }).click();
  await expect(elsewhere).toHaveURL(/\/login\?logged_out=1$/);
  await memberPage.getByRole('navigation', { name: 'My Account sections' }).getByRole('link', { name: 'JS Libraries' }).click();
  await expect(memberPage).toHaveURL(/\/login\?next=.*js-libraries/);

  // Active again, Edit offers Reset Password: the admin sends the link and
  // the member sets a new password with it.
  await page.getByRole('button', { name: 'Edit Bob Builder' }).click();
  const edit2 = page.getByRole('dialog', { name: 'Edit User' });
  await edit2.getByRole('button', { name: 'Reset Password' }).click();
  await expect(edit2.getByText(`A password reset email is on its way to ${member}.`)).toBeVisible();
  await edit2.getByRole('button', { name: 'Cancel' }).click();
  await memberPage.goto(await linkFromMailFolder(member, '/reset-password'));
  await ready(memberPage);
  await memberPage.getByLabel('New Password').fill('Quartz-Harbor-Lantern-77');
  await memberPage.getByRole('button', { name: 'Set New Password' }).click();
  await expect(memberPage).toHaveURL(/\/account$/);
  await other.close();
});

test('an invitee declines from the link page and the admin hears why beside the email', async ({ page, browser }) => {
  const admin = uniqueEmail('chief');
  const invited = uniqueEmail('stranger');
  await signUp(page, admin);
  await ready(page);
  const tabs = page.getByRole('navigation', { name: 'My Account sections' });
  await tabs.getByRole('link', { name: 'Manage Users' }).click();
  const addUser = async () => {
    await page.getByRole('button', { name: 'Add User' }).click();
    const dialog = page.getByRole('dialog', { name: 'Add User' });
    await dialog.getByLabel('First Name').fill('Sam');
    await dialog.getByLabel('Last Name').fill('Stranger');
    await dialog.getByLabel('Email Address').fill(invited);
    await dialog.getByRole('button', { name: 'Add' }).click();
    return dialog;
  };
  await expect(await addUser()).toBeHidden();

  // In a window of their own, the invitee declines: the page says so.
  const link = await linkFromMailFolder(invited, '/activate');
  const invitee = await browser.newPage();
  await invitee.goto(link);
  await ready(invitee);
  // Declining is a step of its own, with the way back beside it.
  await invitee.getByRole('link', { name: 'Decline Invitation…' }).click();
  await expect(invitee.getByRole('heading', { name: 'Decline your invitation' })).toBeVisible();
  await invitee.getByRole('link', { name: 'Back to the invitation' }).click();
  await expect(invitee.getByRole('button', { name: 'Activate Account' })).toBeVisible();
  await invitee.getByRole('link', { name: 'Decline Invitation…' }).click();
  await invitee.getByRole('button', { name: 'Decline Invitation' }).click();
  await expect(invitee.getByText('You declined the invitation.')).toBeVisible();
  await expect(invitee).toHaveURL(/\/activate\?declined=1$/);
  // The link, opened again, says at once that it was declined.
  await invitee.goto(link);
  await ready(invitee);
  await expect(invitee.getByText('This invitation was declined, so its link no longer works.', { exact: false })).toBeVisible();
  await expect(invitee.getByRole('button')).toHaveCount(0);
  await invitee.close();

  // The admin's second invitation is refused beside the email field.
  await page.reload();
  await ready(page);
  await expect(page.getByRole('row', { name: /Sam Stranger/ })).toHaveCount(0);
  const dialog = await addUser();
  await expect(dialog.getByText(/declined an invitation to this account/)).toBeVisible();
  // Refused: the dialog stays open with what was typed, and no user was added.
  await expect(dialog.getByLabel('Email Address')).toHaveValue(invited);
  await page.reload();
  await ready(page);
  await expect(page.getByRole('row', { name: /Sam Stranger/ })).toHaveCount(0);
});

test('a dialog closes with its Close button, and a refused delete says why inside its dialog', async ({ page, context }) => {
  const admin = uniqueEmail('closer');
  await signUp(page, admin);
  operatorAddsMember(admin, uniqueEmail('closer-member'), 'Member-Passphrase-2024');
  await page.goto('/account/users');
  await ready(page);

  // A touch screen has no Escape key: the Close button is the way out.
  await page.getByRole('button', { name: 'Add User' }).click();
  const add = page.getByRole('dialog', { name: 'Add User' });
  await add.getByRole('button', { name: 'Add' }).click();
  await expect(add.getByText('First Name is required.')).toBeVisible();
  // The keyboard lands on what to mend, not on the page's body.
  await expect(add.getByLabel('First Name')).toBeFocused();
  await add.getByRole('button', { name: 'Close' }).click();
  await expect(add).toBeHidden();
  await expect(page.getByRole('button', { name: 'Add User' })).toBeFocused();

  // Something typed is not lost to a stray Escape or Close: the dialog asks
  // first, and keeps it unless told to discard it.
  await page.getByRole('button', { name: 'Add User' }).click();
  await add.getByLabel('First Name').fill('Ada');
  await page.keyboard.press('Escape');
  const asking = add.getByRole('alert').filter({ hasText: 'You have changes that are not saved.' });
  await expect(asking).toBeVisible();
  await expect(add.getByRole('button', { name: 'Keep Editing' })).toBeFocused();
  await add.getByRole('button', { name: 'Keep Editing' }).click();
  await expect(asking).toBeHidden();
  await expect(add.getByLabel('First Name')).toHaveValue('Ada');
  await add.getByRole('button', { name: 'Close' }).click();
  await expect(asking).toBeVisible();
  // Typing on instead of answering: the question goes, and comes again.
  await add.getByLabel('First Name').fill('Adah');
  await expect(asking).toBeHidden();
  await add.getByRole('button', { name: 'Close' }).click();
  await expect(asking).toBeVisible();
  await add.getByRole('button', { name: 'Discard Changes' }).click();
  await expect(add).toBeHidden();
  await expect(page.getByRole('button', { name: 'Add User' })).toBeFocused();
  await page.getByRole('button', { name: 'Add User' }).click();
  await expect(add.getByLabel('First Name')).toHaveValue('');
  await expect(asking).toBeHidden();
  // Cancel, beside Add, closes as Close does: at once when nothing is
  // typed, after asking when something is.
  await add.getByRole('button', { name: 'Cancel' }).click();
  await expect(add).toBeHidden();
  await expect(page.getByRole('button', { name: 'Add User' })).toBeFocused();
  await page.getByRole('button', { name: 'Add User' }).click();
  await add.getByLabel('Last Name').fill('Lovelace');
  await add.getByRole('button', { name: 'Cancel' }).click();
  await expect(asking).toBeVisible();
  await add.getByRole('button', { name: 'Discard Changes' }).click();
  await expect(add).toBeHidden();
  await page.getByRole('button', { name: 'Add User' }).click();
  await expect(add.getByLabel('Last Name')).toHaveValue('');
  // Escape pressed again while it asks discards, as in most editors.
  await add.getByLabel('Email Address').fill('ada@example.com');
  await page.keyboard.press('Escape');
  await expect(asking).toBeVisible();
  await page.keyboard.press('Escape');
  await expect(add).toBeHidden();
  await page.getByRole('button', { name: 'Add User' }).click();
  await expect(add.getByLabel('Email Address')).toHaveValue('');
  await add.getByRole('button', { name: 'Close' }).click();
  await expect(add).toBeHidden();

  // One's own row is marked and offers no Disable or Delete, which would
  // always be refused.
  const own = page.getByRole('row', { name: /Grace Hopper \(you\)/ });
  await expect(own.getByRole('button', { name: 'Edit Grace Hopper' })).toBeVisible();
  await expect(own.getByRole('button')).toHaveCount(1);

  // The server's refusal is shown where the user is looking: in the dialog.
  // Here the member was deleted meanwhile from another window.
  await page.getByRole('button', { name: 'Delete Bob Builder' }).click();
  const remove = page.getByRole('dialog', { name: 'Delete User' });
  const other = await context.newPage();
  await other.goto('/account/users');
  await ready(other);
  await other.getByRole('button', { name: 'Delete Bob Builder' }).click();
  await other.getByRole('dialog', { name: 'Delete User' }).getByRole('button', { name: 'Yes' }).click();
  await expect(other.getByRole('row', { name: /Bob Builder/ })).toHaveCount(0);
  await other.close();
  await remove.getByRole('button', { name: 'Yes' }).click();
  await expect(remove.getByText('Not found: it may have been deleted meanwhile.')).toBeVisible();
  await expectAccessible(page);
  await remove.getByRole('button', { name: 'Close' }).click();
  await expect(remove).toBeHidden();
  // The table caught up with the other window.
  await expect(page.getByRole('row', { name: /Bob Builder/ })).toHaveCount(0);
  // Opened again, for another user, the dialog asks afresh, without the
  // earlier refusal.
  await page.getByRole('button', { name: 'Add User' }).click();
  await add.getByLabel('First Name').fill('Cy');
  await add.getByLabel('Last Name').fill('Young');
  await add.getByLabel('Email Address').fill(uniqueEmail('closer-cy'));
  await add.getByRole('button', { name: 'Add' }).click();
  await expect(add).toBeHidden();
  await page.getByRole('button', { name: 'Delete Cy Young' }).click();
  await expect(remove).toBeVisible();
  await expect(remove.getByText('Delete Cy Young (', { exact: false })).toBeVisible();
  await expect(remove.getByText('Not found: it may have been deleted meanwhile.')).toHaveCount(0);
  await remove.getByRole('button', { name: 'Close' }).click();
});

/**
 * Holds the app's code back, as a slow connection does (routing turns the
 * browser's cache off, so the wasm is asked for again), until the returned
 * function is called.
 */
async function holdTheCode(page: Page): Promise<() => void> {
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  await page.route('**/*.wasm', async (route) => {
    await held;
    await route.continue();
  });
  return release;
}

test('a button pressed before the page is ready is pressed again once it is', async ({ page }) => {
  await signUp(page, uniqueEmail('early'));
  const release = await holdTheCode(page);
  await page.goto('/account/users', { waitUntil: 'domcontentloaded' });
  const add = page.getByRole('button', { name: 'Add User' });
  await add.click();
  expect(await page.evaluate(() => document.body.dataset.ready ?? 'not ready')).toBe('not ready');
  await expect(add).toHaveAttribute('aria-busy', 'true');
  await expect(page.getByRole('dialog', { name: 'Add User' })).toBeHidden();
  release();
  await ready(page);
  await expect(page.getByRole('dialog', { name: 'Add User' })).toBeVisible();
  await expect(add).not.toHaveAttribute('aria-busy');
});

test('a developer key asked for before the page is ready is made once it is, and shown', async ({ page }) => {
  await signUp(page, uniqueEmail('early-key'));
  const release = await holdTheCode(page);
  await page.goto('/account', { waitUntil: 'domcontentloaded' });
  await page.getByLabel('Key name').fill('Early script');
  await page.locator('#key-password').fill(PASSWORD);
  const generate = page.getByRole('button', { name: 'Generate Key' });
  await generate.click();
  // Not posted as a plain form, whose answer (the key) the browser would drop.
  expect(await page.evaluate(() => document.body.dataset.ready ?? 'not ready')).toBe('not ready');
  await expect(generate).toHaveAttribute('aria-busy', 'true');
  release();
  await ready(page);
  await expect(page.locator('#new-developer-key')).toHaveText(/^vk_/);
  await expect(generate).not.toHaveAttribute('aria-busy');
  // Sent once, with what was typed before the page was ready.
  await expect(page.getByRole('cell', { name: 'Early script', exact: true })).toHaveCount(1);
  const key = (await page.locator('#new-developer-key').textContent())!.trim();
  const me = await page.request.get('/api/v1/me', { headers: { Authorization: `Bearer ${key}` } });
  expect(me.status()).toBe(200);
});

test('a member sees what an admin did to them; an admin who makes themself a member leaves the admin tabs', async ({ page, browser }) => {
  const admin = uniqueEmail('boss');
  const member = uniqueEmail('member');
  const memberPassword = 'Maple-Canyon-Drift-19';
  await signUp(page, admin);
  operatorAddsMember(admin, member, memberPassword);
  operator(['promote', '--email', member]);
  await page.goto('/account/users');
  await ready(page);
  for (const [button, dialog] of [['Disable Bob Builder', 'Disable User'], ['Enable Bob Builder', 'Enable User']]) {
    await page.getByRole('button', { name: button }).click();
    await page.getByRole('dialog', { name: dialog }).getByRole('button', { name: 'Yes' }).click();
    await expect(page.getByRole('dialog', { name: dialog })).toBeHidden();
  }

  // Bob's own security list says what Grace did, and whose doing it was.
  const other = await browser.newContext();
  const bob = await other.newPage();
  await bob.goto('/login');
  await logIn(bob, member, memberPassword);
  await expect(bob).toHaveURL(/\/account$/);
  const his = bob.getByRole('region', { name: 'Personal Security' });
  await expect(his.getByRole('cell', { name: `User disabled by ${admin}` })).toBeVisible();
  await expect(his.getByRole('cell', { name: `User enabled by ${admin}` })).toBeVisible();
  await expect(his.getByRole('cell', { name: 'Operator made a user admin', exact: true })).toBeVisible();
  await other.close();

  // Grace, with Bob an admin too, sets her own Account Admin to No: the
  // dialog warns her, and once saved she is on the Account tab without the
  // admin tabs.
  await page.getByRole('button', { name: 'Edit Grace Hopper' }).click();
  const dialog = page.getByRole('dialog', { name: 'Edit User' });
  await expect(dialog.getByText('This is you: with No, the admin tabs close for you')).toBeVisible();
  // Her own address is changed on the Account tab, which asks for her password.
  const email = dialog.getByLabel('Email Address');
  await expect(email).toHaveAttribute('readonly', '');
  await expect(email).toHaveAccessibleDescription(/Change your own email address on the Account tab/);
  await dialog.getByRole('radio', { name: 'No' }).check();
  await dialog.getByRole('button', { name: 'Update' }).click();
  await expect(page).toHaveURL(/\/account$/);
  const tabs = page.getByRole('navigation', { name: 'My Account sections' });
  await expect(tabs.getByRole('link', { name: 'Applications' })).toBeVisible();
  await expect(tabs.getByRole('link', { name: 'Manage Users' })).toHaveCount(0);
});

/** Signs up an admin with 25 members and opens Manage Users by email: the
 * admin first and one member alone on page 2. */
async function twoPagesOfUsers(page: Page): Promise<[string, Locator]> {
  const admin = uniqueEmail('apager');
  await signUp(page, admin);
  for (let i = 0; i < 25; i++) operatorAddsMember(admin, uniqueEmail('zbob'), 'Harbor-Quartz-Lantern-31');
  await page.goto('/account/users?sort=email');
  await ready(page);
  return [admin, page.getByRole('navigation', { name: 'Pages of users' })];
}

test('deleting the only user on the last page steps back to the page before', async ({ page }) => {
  const [admin, pager] = await twoPagesOfUsers(page);
  await pager.getByRole('button', { name: 'Next Page' }).click();
  const deletes = page.getByRole('button', { name: /^Delete / });
  await expect(deletes).toHaveCount(1);
  await deletes.click();
  await page.getByRole('dialog', { name: 'Delete User' }).getByRole('button', { name: 'Yes' }).click();
  await expect(page.getByText('No user matches this search and filter.')).toHaveCount(0);
  await expect(page.getByRole('cell', { name: admin })).toBeVisible();
  await expect(deletes).toHaveCount(24);
  // The last page now is the first: nothing to page through.
  await expect(pager).toHaveCount(0);
});

test('a double click on Next Page moves one page, and Previous Page comes back at once', async ({ page }) => {
  const [admin, pager] = await twoPagesOfUsers(page);
  await pager.getByRole('button', { name: 'Next Page' }).dblclick();
  const deletes = page.getByRole('button', { name: /^Delete / });
  await expect(deletes).toHaveCount(1);
  await pager.getByRole('button', { name: 'Previous Page' }).click();
  await expect(page.getByRole('cell', { name: admin })).toBeVisible();
  await expect(deletes).toHaveCount(24);
  await expect(pager.getByRole('button', { name: 'Previous Page' })).toBeDisabled();
});

test('Next and Previous Page from the keyboard keep the focus in the tab', async ({ page }) => {
  const [admin, pager] = await twoPagesOfUsers(page);
  const heading = page.getByRole('heading', { name: 'Manage Users' });
  await pager.getByRole('button', { name: 'Next Page' }).focus();
  await page.keyboard.press('Enter');
  await expect(page.getByRole('button', { name: /^Delete / })).toHaveCount(1);
  // Next Page is disabled on the last page: the focus is on the tab's
  // heading, not lost to the top of the page.
  await expect(heading).toBeFocused();
  await pager.getByRole('button', { name: 'Previous Page' }).focus();
  await page.keyboard.press('Enter');
  await expect(page.getByRole('cell', { name: admin })).toBeVisible();
  await expect(heading).toBeFocused();
});

test('an invitee\'s address corrected says that a new activation email went out', async ({ page }) => {
  await signUp(page, uniqueEmail('typo'));
  await page.goto('/account/users');
  await ready(page);
  await page.getByRole('button', { name: 'Add User' }).click();
  const add = page.getByRole('dialog', { name: 'Add User' });
  await add.getByLabel('First Name').fill('Nina');
  await add.getByLabel('Last Name').fill('Newbie');
  await add.getByLabel('Email Address').fill(uniqueEmail('nnia'));
  await add.getByRole('button', { name: 'Add' }).click();
  await expect(add).toBeHidden();
  const fixed = uniqueEmail('nina');
  await page.getByRole('button', { name: 'Edit Nina Newbie' }).click();
  const edit = page.getByRole('dialog', { name: 'Edit User' });
  await edit.getByLabel('Email Address').fill(fixed);
  await edit.getByRole('button', { name: 'Update' }).click();
  await expect(edit).toBeHidden();
  await expect(page.getByText(`Nina Newbie is saved: a new activation email went to ${fixed}, and the earlier link no longer works.`)).toBeVisible();
  // A later save that leaves the address says only that it is saved.
  await page.getByRole('button', { name: 'Edit Nina Newbie' }).click();
  await edit.getByLabel('Last Name').fill('Newman');
  await edit.getByRole('button', { name: 'Update' }).click();
  await expect(page.getByText('Nina Newman is saved.', { exact: true })).toBeVisible();
});

test('the last admin saying No to Account Admin is refused beside the choice', async ({ page }) => {
  const admin = uniqueEmail('alone');
  await signUp(page, admin);
  // A member who is no admin, so the table is drawn and Grace is its only admin.
  operatorAddsMember(admin, uniqueEmail('notadmin'), 'Harbor-Quartz-Lantern-31');
  await page.goto('/account/users');
  await ready(page);
  await page.getByRole('button', { name: 'Edit Grace Hopper' }).click();
  const dialog = page.getByRole('dialog', { name: 'Edit User' });
  await dialog.getByRole('radio', { name: 'No' }).check();
  await dialog.getByRole('button', { name: 'Update' }).click();
  const group = dialog.getByRole('group', { name: 'Account Admin' });
  await expect(group).toHaveAccessibleDescription(/An account needs at least one admin who has activated/);
  await expect(group.getByRole('radio', { name: 'Yes' })).toHaveAttribute('aria-invalid', 'true');
  await expect(group.getByRole('radio', { name: 'No' })).toHaveAttribute('aria-invalid', 'true');
  // The focus goes to the refused choice, not to the Update button.
  await expect(group.getByRole('radio', { name: 'Yes' })).toBeFocused();
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  const tabs = page.getByRole('navigation', { name: 'My Account sections' });
  await expect(tabs.getByRole('link', { name: 'Manage Users' })).toBeVisible();
  // Read again from the server, Grace is still the account's admin.
  await page.reload();
  await ready(page);
  await expect(tabs.getByRole('link', { name: 'Manage Users' })).toBeVisible();
  const grace = page.getByRole('row', { name: /Grace Hopper/ });
  await expect(grace.getByRole('cell').nth(2)).toContainText('Yes');
});

test('a session that ends on a searched list brings the admin back to the same search', async ({ page }) => {
  const admin = uniqueEmail('searcher');
  await signUp(page, admin);
  // A colleague, so that the list has its search.
  operatorAddsMember(admin, uniqueEmail('bob'), 'Harbor-Quartz-Lantern-31');
  // A search that looks escaped is read once: "a%41", not "aA".
  await page.goto('/account/users?search=a%2541');
  await ready(page);
  await expect(page.getByLabel('Search Users')).toHaveValue('a%41');
  await expect(page.getByText('No user matches this search and filter.')).toBeVisible();
  await page.context().clearCookies();
  await page.getByLabel('Sort By').selectOption('email');
  await expect(page).toHaveURL(/\/login\?next=/);
  await logIn(page, admin, PASSWORD);
  await expect(page).toHaveURL(/\/account\/users\?search=a%2541&sort=email$/);
  await ready(page);
  await expect(page.getByLabel('Search Users')).toHaveValue('a%41');
  await expect(page.getByLabel('Sort By')).toHaveValue('email');
  await expect(page.getByText('No user matches this search and filter.')).toBeVisible();
});

test('a session that ends while Edit User is open: the dialog says so and keeps the typing', async ({ page }) => {
  const admin = uniqueEmail('editor');
  await signUp(page, admin);
  operatorAddsMember(admin, uniqueEmail('bob'), 'Harbor-Quartz-Lantern-31');
  // The list is not reloaded on that answer, which would leave for the log-in page.
  await page.goto('/account/users');
  await ready(page);
  await page.getByRole('button', { name: 'Edit Grace Hopper' }).click();
  const dialog = page.getByRole('dialog', { name: 'Edit User' });
  await dialog.getByLabel('First Name').fill('Gracie');
  await page.context().clearCookies();
  await dialog.getByRole('button', { name: 'Update' }).click();
  await expect(dialog.getByText('Your session has ended.')).toBeVisible();
  await expect(dialog.getByRole('link', { name: 'Log in again in a new tab' })).toHaveAttribute('target', '_blank');
  await expect(page).toHaveURL(/\/account\/users$/);
  await expect(dialog.getByLabel('First Name')).toHaveValue('Gracie');
});

test('Edit User saves only what this window changed', async ({ page, context }) => {
  const admin = uniqueEmail('stale-boss');
  await signUp(page, admin);
  operatorAddsMember(admin, uniqueEmail('stale-bob'), PASSWORD);
  await page.goto('/account/users');
  await ready(page);
  const other = await context.newPage();
  await other.goto('/account/users');
  await ready(other);
  await page.getByRole('button', { name: 'Edit Bob Builder' }).click();
  const dialog = page.getByRole('dialog', { name: 'Edit User' });
  await expect(dialog.getByLabel('Can Share')).not.toBeChecked();

  // Another window (another admin, as far as the form can tell) lets Bob share.
  await other.getByRole('button', { name: 'Edit Bob Builder' }).click();
  const theirs = other.getByRole('dialog', { name: 'Edit User' });
  await theirs.getByLabel('Can Share').check();
  await theirs.getByRole('button', { name: 'Update' }).click();
  await expect(theirs).toBeHidden();
  await other.close();

  // This dialog, opened before, renames him: the rename is saved, and its
  // unticked Can Share does not take the permission back.
  await dialog.getByLabel('Last Name').fill('Bauer');
  await dialog.getByRole('button', { name: 'Update' }).click();
  await expect(dialog).toBeHidden();
  await expect(page.getByText('Bob Bauer is saved.')).toBeVisible();
  await page.getByRole('button', { name: 'Edit Bob Bauer' }).click();
  await expect(dialog.getByLabel('Can Share')).toBeChecked();
});

test('Edit User does not replace an address change it did not show', async ({ page, context }) => {
  const admin = uniqueEmail('pending-boss');
  await signUp(page, admin);
  operatorAddsMember(admin, uniqueEmail('pending-bob'), PASSWORD);
  await page.goto('/account/users');
  await ready(page);
  await page.getByRole('button', { name: 'Edit Bob Builder' }).click();
  const dialog = page.getByRole('dialog', { name: 'Edit User' });
  await expect(dialog.getByText('Waiting for confirmation from')).toHaveCount(0);

  // Another window asks for a new address for Bob first.
  const asked = uniqueEmail('bob-asked');
  const other = await context.newPage();
  await other.goto('/account/users');
  await ready(other);
  await other.getByRole('button', { name: 'Edit Bob Builder' }).click();
  const theirs = other.getByRole('dialog', { name: 'Edit User' });
  await theirs.getByLabel('Email Address').fill(asked);
  await theirs.getByRole('button', { name: 'Update' }).click();
  await expect(theirs).toBeHidden();
  await other.close();

  // This dialog, opened before, asks for another: refused beside the
  // field, and the change waiting is the other window's still.
  await dialog.getByLabel('Email Address').fill(uniqueEmail('bob-unseen'));
  await dialog.getByRole('button', { name: 'Update' }).click();
  await expect(dialog.getByText(`A change of this user's address to ${asked} was asked for since you opened this form.`, { exact: false })).toBeVisible();
  await page.reload();
  await ready(page);
  await expect(page.getByRole('row', { name: /Bob Builder/ })).toContainText(asked);

  // Opened now, the form shows the change waiting, and replaces it.
  const replaced = uniqueEmail('bob-replaced');
  await page.getByRole('button', { name: 'Edit Bob Builder' }).click();
  await expect(dialog.getByText('Waiting for confirmation from')).toContainText(asked);
  await dialog.getByLabel('Email Address').fill(replaced);
  await dialog.getByRole('button', { name: 'Update' }).click();
  await expect(dialog).toBeHidden();
  await expect(page.getByText(`A confirmation link went to ${replaced}`, { exact: false })).toBeVisible();
  await expect(page.getByRole('row', { name: /Bob Builder/ })).toContainText(replaced);
});
