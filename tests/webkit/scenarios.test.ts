import { resolve } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, it } from 'vitest';
import { startHomeserver, type Homeserver } from '../../demo/homeserver/server.js';
import { startAppServer, type AppServer } from '../browser/appServer.js';
import { crossOriginScenarios } from '../scenarios/crossorigin.js';
import { encryptedScenarios } from '../scenarios/encrypted.js';
import { storeScenarios } from '../scenarios/store.js';
import { storeRuleScenarios } from '../scenarios/storeRules.js';
import { takeoverScenarios, type Scenario } from '../scenarios/takeover.js';
import { startWebKitDriver, webkitDriver, type WebKitDriver, type WebKitSession } from './webdriver.js';

// The scenarios of tests/scenarios/, in WebKitGTK over W3C WebDriver; each in a new WebDriver
// session, which is a new, empty browser profile.

const ROOT = resolve(import.meta.dirname, '../..');
let driver: WebKitDriver;
let app: AppServer;
let homeserver: Homeserver;
let session: WebKitSession;

beforeAll(async () => {
  app = await startAppServer([resolve(ROOT, 'tests/browser/pages'), resolve(ROOT, 'dist')]);
  driver = await startWebKitDriver();
});
afterAll(async () => {
  await driver?.stop();
  await app?.close();
});
beforeEach(async () => {
  app.overrides.clear();
  app.spaFallback = false;
  homeserver = await startHomeserver();
  session = await driver.newSession();
});
afterEach(async () => {
  await session.close();
  await homeserver.close();
});

function runScenarios(title: string, scenarios: Scenario[]): void {
  describe(title, () => {
    for (const scenario of scenarios) {
      const reason = scenario.skip?.('webkit');
      if (reason !== undefined) {
        it.skip(`${scenario.title} (skipped in WebKit: ${reason})`, () => undefined);
        continue;
      }
      it(scenario.title, async (context) => {
        const page = webkitDriver(session);
        await page.open(`${app.url}/index.html`);
        await scenario.run({ driver: page, app, homeserver, note: (text) => context.annotate(text) });
      });
    }
  });
}

runScenarios('adopted by a client that already has a worker', takeoverScenarios);
runScenarios('each file downloaded once', storeScenarios);
runScenarios('the store follows the server and the app', storeRuleScenarios);
runScenarios('encrypted attachments, decrypted in the worker', encryptedScenarios);
runScenarios('media elements and the crossorigin attribute', crossOriginScenarios);
