import type { Engine } from '../scenarios/driver.js';
import { skipReason } from '../scenarios/reliability/env.js';
import { reliabilityGroups } from '../scenarios/reliability/index.js';
import { FIREFOX_WORKER_IDLE_MS, pageDriver } from '../browser/pageDriver.js';
import { test } from './fixtures.js';

// The reliability scenarios (tests/scenarios/reliability/) in Chromium and Firefox; the fixtures
// add the attacker server, the fault record and the leak audit that writes the report's figures.

for (const group of reliabilityGroups) {
  test.describe(group.title, () => {
    for (const scenario of group.scenarios) {
      test(scenario.title, async ({ appPage: page, app, homeserver, attacker, faults, browserName }, testInfo) => {
        // The project starts Firefox with a short idle timeout (playwright.config.ts): idle workers stop.
        const driver = pageDriver(page, browserName as Engine, { workerIdleMs: FIREFOX_WORKER_IDLE_MS });
        const reason = skipReason(scenario, driver);
        test.skip(reason !== undefined, reason);
        if (scenario.timeoutMs) test.setTimeout(scenario.timeoutMs);
        await scenario.run({
          driver,
          app,
          homeserver,
          attacker,
          faults,
          note: (text) => testInfo.annotations.push({ type: 'note', description: text }),
        });
      });
    }
  });
}
