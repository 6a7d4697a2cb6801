import { test, expect, Locator, Page } from '@playwright/test';
import { ready, linkFromMailFolder, logIn, signUp, uniqueEmail, PASSWORD } from './helpers';

/**
 * Submits a form again after a failure, holding the server function's reply
 * until the test has looked: the earlier result must be gone the moment the
 * form is sent (not only once the new reply is in), and the new result must
 * show when the reply arrives.
 */
async function retry(
  page: Page,
  endpoint: string,
  submit: () => Promise<void>,
  stale: Locator,
  fresh: Locator,
  busy?: Locator,
) {
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  const url = `**/fn/${endpoint}`;
  let seen = false;
  await page.route(url, async (route) => {
    seen = true;
    await held;
    await route.continue();
  });
  await submit();
  await expect.poll(() => seen).toBe(true);
  await expect(stale).toBeHidden();
  if (busy) {
    // Waiting, the button says so (and turns), unlike one that cannot be used.
    await expect(busy).toHaveAttribute('aria-busy', 'true');
    await expect(busy).toBeDisabled();
  }
  release();
  await expect(fresh).toBeVisible();
  await expect(stale).toBeHidden();
  if (busy) {
    await expect(busy).not.toHaveAttribute('aria-busy');
    await expect(busy).toBeEnabled();
  }
  await page.unroute(url);
}

test('log-in and sign-up forms: a retry replaces the error', async ({ page }) => {
  await page.goto('/signup');
  await ready(page);
  await page.getByLabel('Company Name').fill('Acme Voice');
  await page.getByLabel('First Name').fill('Grace');
  await page.getByLabel('Last Name').fill('Hopper');
  const email = uniqueEmail('forms');
  await page.getByLabel('Email Address').fill('not-an-email');
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign Up' }).click();
  const badEmail = page.getByText('Enter an email address like name@example.com.');
  await expect(badEmail).toBeVisible();
  await page.getByLabel('Email Address').fill(email);
  await retry(
    page,
    'sign_up',
    () => page.getByRole('button', { name: 'Sign Up' }).click(),
    badEmail,
    page.getByRole('heading', { name: 'My Account' }),
  );

  await page.getByRole('button', { name: 'Log Out', exact: true }).click();
  await expect(page).toHaveURL(/\/login\?logged_out=1$/);
  await logIn(page, email, 'not-my-password');
  const refused = page.getByText('The email address or password is incorrect.');
  await expect(refused).toBeVisible();
  await page.getByLabel('Password').fill(PASSWORD);
  await retry(
    page,
    'log_in',
    () => page.getByRole('button', { name: 'Log In' }).click(),
    refused,
    page.getByRole('heading', { name: 'My Account' }),
  );

  // Forgot password: a malformed address, then a good one.
  await page.getByRole('button', { name: 'Log Out', exact: true }).click();
  await page.goto('/forgot-password');
  await ready(page);
  await page.getByLabel('Email Address').fill('nobody');
  await page.getByRole('button', { name: 'Send Reset Link' }).click();
  await expect(badEmail).toBeVisible();
  await page.getByLabel('Email Address').fill(email);
  await retry(
    page,
    'request_password_reset',
    () => page.getByRole('button', { name: 'Send Reset Link' }).click(),
    badEmail,
    page.getByText(/we have sent it a link to reset the password/),
  );
  // The reset page: a weak password, then a strong one.
  await page.goto(await linkFromMailFolder(email, '/reset-password'));
  await ready(page);
  await page.getByLabel('New Password').fill('short');
  await page.getByRole('button', { name: 'Set New Password' }).click();
  const short = page.getByText('New Password must be at least 8 characters.');
  await expect(short).toBeVisible();
  await page.getByLabel('New Password').fill('Cobalt-Meadow-Violin-58');
  await retry(
    page,
    'reset_password',
    () => page.getByRole('button', { name: 'Set New Password' }).click(),
    short,
    page.getByRole('heading', { name: 'My Account' }),
  );
});

test('the Account tab forms: each retry shows its own result, never the last one', async ({ page }) => {
  const email = uniqueEmail('forms');
  await signUp(page, email);
  await ready(page);

  // Name: required, then saved.
  const details = page.getByRole('region', { name: 'User Settings' });
  await details.getByLabel('First Name').fill('');
  await details.getByRole('button', { name: 'Save' }).click();
  const required = details.getByText('First Name is required.');
  await expect(required).toBeVisible();
  await details.getByLabel('First Name').fill('Ada');
  await retry(
    page,
    'update_name',
    () => details.getByRole('button', { name: 'Save' }).click(),
    required,
    details.getByText('Your name is saved.'),
    details.getByRole('button', { name: 'Save' }),
  );
  // A failure after a success hides the success.
  await details.getByLabel('Last Name').fill('');
  await retry(
    page,
    'update_name',
    () => details.getByRole('button', { name: 'Save' }).click(),
    details.getByText('Your name is saved.'),
    details.getByText('Last Name is required.'),
  );

  // Password: the wrong current password, then the right one.
  const password = page.getByRole('region', { name: 'Change Password' });
  await password.getByLabel('Current Password').fill('not-my-password');
  await password.getByLabel('New Password').fill('Quartz-Harbor-Lantern-77');
  await password.getByRole('button', { name: 'Change Password' }).click();
  const wrong = password.getByText('The current password is incorrect.');
  await expect(wrong).toBeVisible();
  await password.getByLabel('Current Password').fill(PASSWORD);
  await password.getByLabel('New Password').fill('Quartz-Harbor-Lantern-77');
  await retry(
    page,
    'change_password',
    () => password.getByRole('button', { name: 'Change Password' }).click(),
    wrong,
    password.getByText(/Your password was changed/),
  );

  // Email: the wrong password, then the right one.
  const emailSection = page.getByRole('region', { name: 'Change Email Address' });
  const newEmail = uniqueEmail('moved');
  await emailSection.getByLabel('New Email Address').fill(newEmail);
  await emailSection.getByLabel('Current Password').fill('wrong-password');
  await emailSection.getByRole('button', { name: 'Change Email Address' }).click();
  const wrongAgain = emailSection.getByText('The current password is incorrect.');
  await expect(wrongAgain).toBeVisible();
  await emailSection.getByLabel('Current Password').fill('Quartz-Harbor-Lantern-77');
  await retry(
    page,
    'request_email_change',
    () => emailSection.getByRole('button', { name: 'Change Email Address' }).click(),
    wrongAgain,
    emailSection.getByText(`We sent a confirmation link to ${newEmail}.`),
  );

  // Developer key: the wrong password, then the right one.
  await page.getByLabel('Key name').fill('Nightly report');
  await page.locator('#key-password').fill('wrong-password');
  await page.getByRole('button', { name: 'Generate Key' }).click();
  const keyRefused = page.getByText('The current password is incorrect.');
  await expect(keyRefused).toBeVisible();
  await page.locator('#key-password').fill('Quartz-Harbor-Lantern-77');
  await retry(
    page,
    'generate_developer_key',
    () => page.getByRole('button', { name: 'Generate Key' }).click(),
    keyRefused,
    page.locator('#new-developer-key'),
  );
});

test('admin forms and dialogs: a retry replaces the error', async ({ page }) => {
  await signUp(page, uniqueEmail('forms'));
  await ready(page);
  const tabs = page.getByRole('navigation', { name: 'My Account sections' });

  // Account information: a bad zip, then a good one.
  await tabs.getByRole('link', { name: 'Account Information', exact: true }).click();
  await page.getByLabel('Zip').fill('94107!');
  await page.getByRole('button', { name: 'Save' }).click();
  const badZip = page.getByText('Zip may contain only letters, digits, spaces and dashes.');
  await expect(badZip).toBeVisible();
  await page.getByLabel('Zip').fill('94107');
  await retry(
    page,
    'save_account_info',
    () => page.getByRole('button', { name: 'Save' }).click(),
    badZip,
    page.getByText('The account information is saved.'),
  );

  // Add a user (a dialog): a missing name, then complete.
  await tabs.getByRole('link', { name: 'Manage Users', exact: true }).click();
  await page.getByRole('button', { name: 'Add User' }).click();
  const dialog = page.getByRole('dialog', { name: 'Add User' });
  await dialog.getByLabel('First Name').fill('Nina');
  await dialog.getByRole('button', { name: 'Add' }).click();
  const noLastName = dialog.getByText('Last Name is required.');
  await expect(noLastName).toBeVisible();
  await dialog.getByLabel('Last Name').fill('Newbie');
  const invited = uniqueEmail('nina');
  await dialog.getByLabel('Email Address').fill(invited);
  await retry(
    page,
    'add_user',
    () => dialog.getByRole('button', { name: 'Add' }).click(),
    noLastName,
    page.getByRole('row', { name: new RegExp(invited.replace(/\./g, '\\.')) }),
  );

  // Edit a user (a dialog): an emptied name, then a new one.
  await page.getByRole('button', { name: 'Edit Nina Newbie' }).click();
  const edit = page.getByRole('dialog', { name: 'Edit User' });
  await edit.getByLabel('First Name').fill('');
  await edit.getByRole('button', { name: 'Update' }).click();
  const noFirstName = edit.getByText('First Name is required.');
  await expect(noFirstName).toBeVisible();
  await edit.getByLabel('First Name').fill('Nora');
  await retry(
    page,
    'update_user',
    () => edit.getByRole('button', { name: 'Update' }).click(),
    noFirstName,
    page.getByRole('row', { name: /Nora Newbie/ }),
  );

  // An integration (a dialog): no name, then one.
  await tabs.getByRole('link', { name: 'Integrations', exact: true }).click();
  await page.getByRole('button', { name: 'Add Integration' }).click();
  const integration = page.getByRole('dialog', { name: 'Add Integration' });
  await integration.getByLabel('Select Service').selectOption('s3');
  await integration.getByLabel('Key').fill('AKIAIOSFODNN7EXAMPLE');
  await integration.getByLabel('Secret').fill('wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY');
  await integration.getByRole('button', { name: 'Add' }).click();
  const noName = integration.getByText('Name is required.');
  await expect(noName).toBeVisible();
  await integration.getByLabel('Name').fill('Recordings');
  await retry(
    page,
    'add_integration',
    () => integration.getByRole('button', { name: 'Add' }).click(),
    noName,
    page.getByRole('cell', { name: 'Recordings', exact: true }),
  );

  // An application: no name, then one.
  await tabs.getByRole('link', { name: 'Applications', exact: true }).click();
  await page.getByRole('button', { name: 'Create Application' }).click();
  const noAppName = page.getByText('New Application Name is required.');
  await expect(noAppName).toBeVisible();
  await page.getByLabel('New application name').fill('Main IVR');
  await retry(
    page,
    'create_application',
    () => page.getByRole('button', { name: 'Create Application' }).click(),
    noAppName,
    page.getByRole('cell', { name: 'Main IVR', exact: true }),
  );

  // A JS library (a dialog): no code, then some.
  await tabs.getByRole('link', { name: 'JS Libraries', exact: true }).click();
  await page.getByRole('button', { name: 'Add JS Library' }).click();
  const library = page.getByRole('dialog', { name: 'Add JS Library' });
  await library.getByLabel('Name').fill('Greeting');
  await library.getByRole('button', { name: 'Add', exact: true }).click();
  const noCode = library.getByText('Code is required.');
  await expect(noCode).toBeVisible();
  await library.getByLabel('Code').fill('function hello(name) { return "Hi " + name; }');
  await retry(
    page,
    'add_js_library',
    () => library.getByRole('button', { name: 'Add', exact: true }).click(),
    noCode,
    page.getByRole('cell', { name: 'Greeting', exact: true }),
  );
});

test('an error leaves its field once the field is edited, and the next refusal shows again', async ({ page }) => {
  // Sign-up, a page before signing in (sent by its inline script).
  await page.goto('/signup');
  await ready(page);
  await page.getByLabel('Company Name').fill('Acme Voice');
  await page.getByLabel('First Name').fill('Grace');
  await page.getByLabel('Email Address').fill('not-an-email');
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign Up' }).click();
  const email = page.getByLabel('Email Address');
  const badEmail = page.getByText('Enter an email address like name@example.com.');
  const noLastName = page.getByText('Last Name is required.');
  await expect(badEmail).toBeVisible();
  await expect(noLastName).toBeVisible();
  await expect(email).toHaveAttribute('aria-invalid', 'true');
  // Mending one field clears its own error only.
  await email.pressSequentially('@');
  await expect(badEmail).toBeHidden();
  await expect(email).not.toHaveAttribute('aria-invalid');
  await expect(noLastName).toBeVisible();
  await expect(page.getByLabel('Last Name')).toHaveAttribute('aria-invalid', 'true');
  // Still not an address: sent again, it is refused again.
  await page.getByRole('button', { name: 'Sign Up' }).click();
  await expect(badEmail).toBeVisible();
  await expect(email).toHaveAttribute('aria-invalid', 'true');

  // The Account tab, drawn by the app.
  await signUp(page, uniqueEmail('edited'));
  const details = page.getByRole('region', { name: 'User Settings' });
  const first = details.getByLabel('First Name');
  await first.fill('');
  await details.getByRole('button', { name: 'Save' }).click();
  const required = details.getByText('First Name is required.');
  await expect(required).toBeVisible();
  await expect(first).toHaveAttribute('aria-invalid', 'true');
  await first.pressSequentially('A');
  await expect(required).toBeHidden();
  await expect(first).not.toHaveAttribute('aria-invalid');
  await first.fill('');
  await details.getByRole('button', { name: 'Save' }).click();
  await expect(required).toBeVisible();
});
