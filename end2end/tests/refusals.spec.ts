import { test, expect } from '@playwright/test';
import { expectAccessible, ready, logIn, operatorAddsMember, signUp, uniqueEmail } from './helpers';

test('a signed-out visitor logs in and comes back where they were going', async ({ page }) => {
  const email = uniqueEmail('ada');
  await signUp(page, email);
  await page.getByRole('button', { name: 'Log Out', exact: true }).click();
  await expect(page).toHaveURL(/\/login\?logged_out=1$/);

  await page.goto('/account/js-libraries');
  await expect(page).toHaveURL(/\/login\?next=\/account\/js-libraries$/);
  await logIn(page, email, 'Velvet-Otter-Sunrise-42');
  await expect(page).toHaveURL(/\/account\/js-libraries$/);
  await expect(page.getByRole('heading', { name: 'JS Libraries' })).toBeVisible();
});

test('a member sees no admin tab and is refused at an admin URL', async ({ page }) => {
  const admin = uniqueEmail('admin');
  const member = uniqueEmail('bob');
  const memberPassword = 'Maple-Canyon-Drift-19';
  await signUp(page, admin);
  operatorAddsMember(admin, member, memberPassword);
  await page.getByRole('button', { name: 'Log Out', exact: true }).click();
  await expect(page).toHaveURL(/\/login\?logged_out=1$/);

  await logIn(page, member, memberPassword);
  await expect(page).toHaveURL(/\/account$/);
  await ready(page);
  const tabs = page.getByRole('navigation', { name: 'My Account sections' });
  await expect(tabs.getByRole('link', { name: 'Integrations' })).toBeVisible();
  for (const name of ['Manage Users', 'Account Information', 'Phone Numbers']) {
    await expect(tabs.getByRole('link', { name })).toHaveCount(0);
  }
  await expectAccessible(page);

  const response = await page.goto('/account/users');
  expect(response?.status()).toBe(403);
  await expect(page.getByText('Only an account admin can do this.')).toBeVisible();
  await expect(page.getByRole('button', { name: 'Add User' })).toHaveCount(0);
  const info = await page.goto('/account/account-information');
  expect(info?.status()).toBe(403);
  await expect(page.getByText('Only an account admin can do this.')).toBeVisible();
  const numbers = await page.goto('/account/phone-numbers');
  expect(numbers?.status()).toBe(403);
  await expect(page.getByText('Only an account admin can do this.')).toBeVisible();
  // What they own is on their Account tab instead.
  await page.goto('/account');
  await expect(page.getByRole('heading', { name: 'Your phone numbers' })).toBeVisible();
  await expectAccessible(page);
});
