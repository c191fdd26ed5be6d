import { defineConfig } from '@playwright/test';
import { FIREFOX_WORKER_IDLE_MS } from './tests/browser/pageDriver.js';

/**
 * Browser tests drive Debian's browsers: Playwright's own downloads are unreachable here and
 * must never be attempted. The page is served on localhost and the homeserver on 127.0.0.1,
 * two origins, as in real deployments; both start inside the tests (tests/browser/fixtures.ts).
 */
const chromium = {
  browserName: 'chromium' as const,
  launchOptions: { executablePath: '/usr/bin/chromium', args: ['--disable-gpu', '--disable-quic'] },
};
// Debian's Firefox ESR over WebDriver BiDi: Playwright 1.64.1 exactly (1.65 cannot drive ESR 153).
const firefox = {
  browserName: 'firefox' as const,
  channel: 'moz-firefox',
  launchOptions: { executablePath: '/usr/bin/firefox-esr' },
};

export default defineConfig({
  // Two cores: one browser at a time keeps timings calm and failures readable.
  workers: 1,
  fullyParallel: false,
  retries: 0,
  timeout: 60_000,
  reporter: [['list'], ['json', { outputFile: 'test-results/browser.json' }]],
  outputDir: 'test-results/artifacts',
  use: { trace: 'off' },
  projects: [
    // Against the embedded homeserver (demo/homeserver), which can be made to misbehave on demand.
    { name: 'chromium', testDir: 'tests/browser', use: chromium },
    { name: 'firefox', testDir: 'tests/browser', use: firefox },
    // The suite that tries to break the worker (npm run test:reliability prints its report).
    { name: 'reliability-chromium', testDir: 'tests/reliability', use: chromium },
    // Firefox stops a service worker after this long without events: the only supported way to
    // stop one in a test (its DevTools protocol is gone), and every scenario meets restarts.
    {
      name: 'reliability-firefox',
      testDir: 'tests/reliability',
      use: { ...firefox, launchOptions: { ...firefox.launchOptions, firefoxUserPrefs: { 'dom.serviceWorkers.idle_timeout': FIREFOX_WORKER_IDLE_MS } } },
    },
    // Against a real Synapse, installed and started by the tests (tests/synapse/synapse.ts).
    { name: 'synapse-chromium', testDir: 'tests/synapse', use: chromium },
    // differences.spec.ts compares servers from Node, without a browser: once is enough.
    { name: 'synapse-firefox', testDir: 'tests/synapse', testIgnore: /differences/, use: firefox },
    // Against a real Dendrite, built and started by the tests (tests/dendrite/dendrite.ts).
    { name: 'dendrite-chromium', testDir: 'tests/dendrite', use: chromium },
    { name: 'dendrite-firefox', testDir: 'tests/dendrite', use: firefox },
    // Network faults (Toxiproxy) between the browser and a real Synapse and Dendrite.
    { name: 'network-chromium', testDir: 'tests/network', use: chromium },
    { name: 'network-firefox', testDir: 'tests/network', use: firefox },
  ],
});
