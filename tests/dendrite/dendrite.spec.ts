import { test as base } from '../browser/fixtures.js';
import { pageDriver } from '../browser/pageDriver.js';
import { startCountingProxy } from '../countingProxy.js';
import type { Engine } from '../scenarios/driver.js';
import { dendriteScenarios } from '../scenarios/dendrite.js';
import { dendriteFixture, type Dendrite } from './dendrite.js';

// The Dendrite scenarios (tests/scenarios/dendrite.ts) in Chromium and Firefox, against one real
// Dendrite per test worker, through a proxy per test; no Playwright request routing, so CORS
// faults show.

const test = base.extend<{}, { dendrite: Dendrite }>({ dendrite: dendriteFixture });

for (const preflightAnswered of [false, true]) {
  test.describe(preflightAnswered ? 'Dendrite behind a proxy that answers CORS preflights' : "Dendrite answering the v1 media preflight itself (401, no CORS headers)", () => {
    for (const scenario of dendriteScenarios) {
      test(scenario.title, async ({ appPage: page, app, dendrite, browserName }) => {
        const proxy = await startCountingProxy(dendrite.url, { answerPreflights: preflightAnswered });
        try {
          await scenario.run({ driver: pageDriver(page, browserName as Engine), app, dendrite, proxy, preflightAnswered });
        } finally {
          await proxy.close();
        }
      });
    }
  });
}
