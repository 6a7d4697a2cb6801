import { defineConfig } from '@playwright/test';
import * as path from 'path';
import * as os from 'os';

// The browser tests run against the release build, started here with a fresh
// SQLite database in its own data directory.
export const PORT = Number(process.env.E2E_PORT ?? 3100);
export const PROVIDER_PORT = Number(process.env.E2E_PROVIDER_PORT ?? 3199);
export const DATA_DIR = path.join(__dirname, '.data');
export const SERVER_BIN =
  process.env.CONSOLE_SERVER_BIN ??
  path.join(process.env.CARGO_TARGET_DIR ?? path.join(os.homedir(), '.cache/voice-console/target'), 'release/server');
export const SERVER_ENV = {
  LEPTOS_ENV: 'PROD',
  LEPTOS_OUTPUT_NAME: 'console',
  LEPTOS_HASH_FILES: 'true',
  LEPTOS_SITE_ROOT: path.join(__dirname, '..', 'target', 'site'),
  LEPTOS_SITE_ADDR: `127.0.0.1:${PORT}`,
  DATA_DIR,
  DATABASE_URL: '',
  RUST_LOG: 'warn',
  // Every test signs up from 127.0.0.1; the per-address limits are for the internet.
  LIMITS:
    'sign_up.client=1000/60,password_reset.client=1000/60,address_lookup.client=1000/60,' +
    'demo_number_request.client=1000/60,demo_number_request.total=1000/60,password_strength.client=1000/60,' +
    'verification.client=1000/60,invitation.client=1000/60,email_change.client=1000/60,' +
    'activity_export.client=1000/60',
  // Deleted numbers go back to the pool at once: the suite's requests come
  // from the 40 built-in numbers, which a 30-day rest would use up.
  NUMBER_COOLDOWN_DAYS: '0',
  // A local OAuth provider the Stripe spec starts (plain http is allowed to loopback only).
  STRIPE_AUTHORIZE_URL: `http://127.0.0.1:${PROVIDER_PORT}/authorize`,
  STRIPE_TOKEN_URL: `http://127.0.0.1:${PROVIDER_PORT}/token`,
  STRIPE_DEAUTHORIZE_URL: `http://127.0.0.1:${PROVIDER_PORT}/deauthorize`,
  STRIPE_CLIENT_ID_TEST: 'ca_e2e_test',
  STRIPE_SECRET_KEY_TEST: 'sk_test_e2e_secret',
};

export default defineConfig({
  testDir: './tests',
  timeout: 60_000,
  expect: { timeout: 10_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  // A stray test.only must not silently skip the rest of the suite in CI.
  forbidOnly: !!process.env.CI,
  reporter: process.env.CI ? 'list' : [['list']],
  use: {
    baseURL: `http://127.0.0.1:${PORT}`,
    trace: 'retain-on-failure',
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    },
  },
  webServer: {
    command: `rm -rf "${DATA_DIR}" && exec "${SERVER_BIN}" serve`,
    env: SERVER_ENV,
    url: `http://127.0.0.1:${PORT}/login`,
    reuseExistingServer: false,
    timeout: 60_000,
    stdout: 'pipe',
    stderr: 'pipe',
  },
});
