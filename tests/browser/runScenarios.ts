import type { Engine } from '../scenarios/driver.js';
import type { Scenario } from '../scenarios/takeover.js';
import { pageDriver } from './pageDriver.js';
import { test } from './fixtures.js';

/** Runs scenarios written once (tests/scenarios/) as Playwright tests, in Chromium and Firefox. */
export function runScenarios(title: string, scenarios: Scenario[]): void {
  test.describe(title, () => {
    for (const scenario of scenarios) {
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
}
