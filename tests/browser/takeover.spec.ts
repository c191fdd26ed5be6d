import { takeoverScenarios } from '../scenarios/takeover.js';
import type { Engine } from '../scenarios/driver.js';
import { pageDriver } from './pageDriver.js';
import { test } from './fixtures.js';

// The scenarios of tests/scenarios/takeover.ts, in Chromium and Firefox.
test.describe('adopted by a client that already has a worker', () => {
  for (const scenario of takeoverScenarios) {
    test(scenario.title, async ({ appPage: page, app, homeserver, browserName }, testInfo) => {
      const engine = browserName as Engine;
      const reason = scenario.skip?.(engine);
      test.skip(reason !== undefined, reason);
      await scenario.run({
        driver: pageDriver(page, engine),
        app,
        homeserver,
        note: (text) => testInfo.annotations.push({ type: 'note', description: text }),
      });
    });
  }
});
