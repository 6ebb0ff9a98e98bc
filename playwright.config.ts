// Browser and API journeys against a running console + worker. `npm test` starts both (and every service)
// and sets LIFEBOAT_TEST_BASE_URL; Chromium is Debian's (/usr/bin/chromium), never a downloaded build.
import { defineConfig } from '@playwright/test';

const baseURL = process.env.LIFEBOAT_TEST_BASE_URL;
if (!baseURL) throw new Error('LIFEBOAT_TEST_BASE_URL is not set: run the browser tests through `npm test` (or `npm test e2e`)');

export default defineConfig({
  testDir: 'e2e',
  timeout: 60_000,
  expect: { timeout: 15_000 },
  workers: 1,
  fullyParallel: false,
  retries: 0,
  reporter: [['list'], ['json']],
  use: {
    baseURL,
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    },
  },
});
