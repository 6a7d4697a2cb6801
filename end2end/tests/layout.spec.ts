import { test, expect, Page } from '@playwright/test';
import { addJsLibrary, certificate, ready, operatorAddsMember, requestPhoneNumber, signUp, uniqueEmail, PASSWORD } from './helpers';

// Every tab an admin sees, by its URL; each is visited directly.
const TABS: [string, string][] = [
  ['account', '/account'],
  ['users', '/account/users'],
  ['account-information', '/account/account-information'],
  ['phone-numbers', '/account/phone-numbers'],
  ['certificates', '/account/certificates'],
  ['oauth-tokens', '/account/oauth-tokens'],
  ['js-libraries', '/account/js-libraries'],
  ['integrations', '/account/integrations'],
  ['applications', '/account/applications'],
  ['activity', '/account/activity'],
];

/**
 * Rows whose cells end at different heights, and action cells whose buttons
 * neither stand in one line (a wide screen) nor in one column (a phone).
 */
async function misaligned(page: Page, column: boolean): Promise<string[]> {
  return page.evaluate((column) => {
    const bad: string[] = [];
    const spread = (values: number[]) => Math.max(...values) - Math.min(...values);
    for (const tr of Array.from(document.querySelectorAll('tbody tr'))) {
      const bottoms = Array.from(tr.children).map((c) => c.getBoundingClientRect().bottom);
      if (spread(bottoms) > 1) bad.push(`row not aligned: ${tr.textContent}`);
    }
    for (const td of Array.from(document.querySelectorAll('td.actions'))) {
      const boxes = Array.from(td.children).map((c) => c.getBoundingClientRect());
      const lined = column ? boxes.map((b) => b.left) : boxes.map((b) => b.top);
      if (lined.length > 1 && spread(lined) > 1) bad.push(`actions out of line: ${td.textContent}`);
    }
    return bad;
  }, column);
}

/** Rows whose first cell (the name) the sticky actions cell covers, leaving under 64 px (8 letters) in sight. */
async function covered(page: Page): Promise<string[]> {
  return page.evaluate(() =>
    Array.from(document.querySelectorAll('td.actions'))
      .map((actions) => {
        const first = actions.parentElement!.children[0].getBoundingClientRect();
        const frame = actions.closest('.table-frame')!.getBoundingClientRect();
        const left = actions.getBoundingClientRect().left;
        const seen = Math.min(first.right, left) - Math.max(first.left, frame.left);
        return first.right > left && seen < 64 ? `${actions.parentElement!.textContent} (${Math.round(seen)} px)` : '';
      })
      .filter((row) => row !== ''),
  );
}

test('every tab at 1280 and 390 px: row actions in a line (a column on phones), aligned rows, no sideways scrolling; screenshots kept', async ({ page }, testInfo) => {
  const email = uniqueEmail('layout');
  await signUp(page, email);
  await ready(page);

  // Something in the tables: a second user, a number, a library, a key, an application.
  operatorAddsMember(email, uniqueEmail('bob'), 'Harbor-Quartz-Lantern-31');
  await page.getByLabel('Key name').fill('Nightly report');
  await page.locator('#key-password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Generate Key' }).click();
  await expect(page.locator('#new-developer-key')).toBeVisible();
  await requestPhoneNumber(page);
  await page.goto('/account/js-libraries');
  await ready(page);
  await addJsLibrary(page, 'Greeting');
  // A certificate whose names have no space to wrap at, flagged as
  // expiring soon: the widest row a table of certificates has.
  await page.goto('/account/certificates');
  await ready(page);
  await page.getByRole('button', { name: 'Add Certificate' }).click();
  const adding = page.getByRole('dialog', { name: 'Add Certificate' });
  const soon = certificate('recordings-upload.hooks.example.net', 20);
  await adding.getByLabel('Domain').fill('recordings-upload.hooks.example.net');
  await adding.getByLabel('Certificate').fill(soon.cert);
  await adding.getByLabel('Private Key').fill(soon.key);
  await adding.getByRole('button', { name: 'Add' }).click();
  await expect(page.getByText('Expires within 30 days')).toBeVisible();
  // Said as it is added, not only by the badge.
  await expect(page.getByText(/is added\. It expires on \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC: replace it with its renewal before then\./)).toBeVisible();
  // An application: its row has the most buttons.
  await page.goto('/account/applications');
  await ready(page);
  await page.getByLabel('New application name').fill('Main IVR');
  await page.getByRole('button', { name: 'Create Application' }).click();
  await expect(page.getByRole('cell', { name: 'Main IVR', exact: true })).toBeVisible();

  for (const width of [1280, 390]) {
    await page.setViewportSize({ width, height: width === 390 ? 844 : 900 });
    for (const [name, path] of TABS) {
      await page.goto(path);
      await ready(page);
      await expect(page.getByRole('heading', { name: 'My Account' })).toBeVisible();
      await page.screenshot({ path: testInfo.outputPath(`${name}-${width}.png`), fullPage: true });
      expect(await misaligned(page, width === 390), `${path} at ${width} px`).toEqual([]);
      // On a phone the tabs are one row (wrapped, four rows pushed the tab's
      // heading down) with the current one in sight; on a wide screen one
      // column beside the content (wrapped to two rows, the current tab's
      // underline floated between them).
      const tabs = await page.evaluate(() => {
        const list = document.querySelector('nav.tabs ul')!.getBoundingClientRect();
        const items = Array.from(document.querySelectorAll('nav.tabs li')).map((li) => li.getBoundingClientRect());
        const current = document.querySelector('nav.tabs a[aria-current="page"]')!.getBoundingClientRect();
        const main = document.querySelector('main')!.getBoundingClientRect();
        return {
          rows: new Set(items.map((b) => Math.round(b.top))).size,
          columns: new Set(items.map((b) => Math.round(b.left))).size,
          besideContent: list.right <= main.left,
          inSight: current.left >= list.left - 1 && current.right <= list.right + 1,
        };
      });
      const expected = width === 390
        ? { rows: 1, columns: TABS.length, besideContent: false, inSight: true }
        : { rows: TABS.length, columns: 1, besideContent: true, inSight: true };
      expect(tabs, `${path}: the tabs at ${width} px`).toEqual(expected);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      expect(overflow, `${path} is wider than the ${width} px screen`).toBeLessThanOrEqual(0);
      if (width === 390) {
        // A table may scroll sideways, but each row's buttons are on screen.
        const hidden = await page.evaluate(() =>
          Array.from(document.querySelectorAll('td.actions button'))
            .filter((b) => b.getBoundingClientRect().right > window.innerWidth)
            .map((b) => b.getAttribute('aria-label') ?? b.textContent),
        );
        expect(hidden, `${path}: row buttons past the right edge at 390 px`).toEqual([]);
        expect(await covered(page), `${path}: rows whose name the buttons cover at 390 px`).toEqual([]);
      }
      if (width === 1280) {
        // On a desktop screen every table fits: nothing to scroll sideways.
        const scrolling = await page.evaluate(() =>
          Array.from(document.querySelectorAll('.table-frame'))
            .filter((f) => f.scrollWidth > f.clientWidth)
            .map((f) => f.getAttribute('aria-label')),
        );
        expect(scrolling, `${path}: tables wider than their frame at 1280 px`).toEqual([]);
      }
    }
  }

  // Two users fit on one page: no paging controls.
  await page.goto('/account/users');
  await ready(page);
  await expect(page.getByRole('row')).toHaveCount(3);
  await expect(page.getByRole('navigation', { name: 'Pages of users' })).toHaveCount(0);
});
