import { defineConfig } from '@playwright/test';

/**
 * Browser tests drive Debian's browsers: Playwright's own downloads are unreachable here and
 * must never be attempted. The page is served on localhost and the homeserver on 127.0.0.1,
 * two origins, as in real deployments; both start inside the tests (tests/browser/fixtures.ts).
 */
export default defineConfig({
  testDir: 'tests/browser',
  // Two cores: one browser at a time keeps timings calm and failures readable.
  workers: 1,
  fullyParallel: false,
  retries: 0,
  timeout: 60_000,
  reporter: [['list'], ['json', { outputFile: 'test-results/browser.json' }]],
  outputDir: 'test-results/artifacts',
  use: { trace: 'off' },
  projects: [
    {
      name: 'chromium',
      use: {
        browserName: 'chromium',
        launchOptions: { executablePath: '/usr/bin/chromium', args: ['--disable-gpu', '--disable-quic'] },
      },
    },
    {
      // Debian's Firefox ESR over WebDriver BiDi: Playwright 1.64.1 exactly (1.65 cannot drive ESR 153).
      name: 'firefox',
      use: {
        browserName: 'firefox',
        channel: 'moz-firefox',
        launchOptions: { executablePath: '/usr/bin/firefox-esr' },
      },
    },
  ],
});
