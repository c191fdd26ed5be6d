import { resolve } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, it } from 'vitest';
import { startAppServer, type AppServer } from '../browser/appServer.js';
import { startCountingProxy, type CountingProxy } from '../countingProxy.js';
import { startDendrite, type Dendrite } from '../dendrite/dendrite.js';
import { dendriteScenarios } from '../scenarios/dendrite.js';
import { startWebKitDriver, webkitDriver, type WebKitDriver, type WebKitSession } from './webdriver.js';

// The Dendrite scenarios (tests/scenarios/dendrite.ts) in WebKitGTK over W3C WebDriver, each in
// a new session (a new, empty profile), against one real Dendrite, through a proxy per test.

const ROOT = resolve(import.meta.dirname, '../..');
let driver: WebKitDriver;
let app: AppServer;
let dendrite: Dendrite;
let session: WebKitSession;
let proxy: CountingProxy | undefined;

beforeAll(async () => {
  app = await startAppServer([resolve(ROOT, 'tests/browser/pages'), resolve(ROOT, 'dist')]);
  dendrite = await startDendrite();
  driver = await startWebKitDriver();
}, 600_000);
afterAll(async () => {
  await driver?.stop();
  await dendrite?.stop();
  await app?.close();
});
beforeEach(async () => {
  session = await driver.newSession();
});
afterEach(async () => {
  await session.close();
  await proxy?.close();
  proxy = undefined;
});

for (const preflightAnswered of [false, true]) {
  describe(preflightAnswered ? 'Dendrite behind a proxy that answers CORS preflights' : 'Dendrite answering the v1 media preflight itself (401, no CORS headers)', () => {
    for (const scenario of dendriteScenarios) {
      it(scenario.title, async () => {
        proxy = await startCountingProxy(dendrite.url, { answerPreflights: preflightAnswered });
        const page = webkitDriver(session);
        await page.open(`${app.url}/index.html`);
        await scenario.run({ driver: page, app, dendrite, proxy, preflightAnswered });
      });
    }
  });
}
