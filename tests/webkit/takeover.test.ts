import { resolve } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, it } from 'vitest';
import { startHomeserver, type Homeserver } from '../../demo/homeserver/server.js';
import { startAppServer, type AppServer } from '../browser/appServer.js';
import { takeoverScenarios } from '../scenarios/takeover.js';
import { startWebKitDriver, webkitDriver, type WebKitDriver, type WebKitSession } from './webdriver.js';

// The scenarios of tests/scenarios/takeover.ts, in WebKitGTK over W3C WebDriver.

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
  // A new WebDriver session is a new, empty browser profile: no worker left from the last scenario.
  session = await driver.newSession();
});
afterEach(async () => {
  await session.close();
  await homeserver.close();
});

describe('adopted by a client that already has a worker', () => {
  for (const scenario of takeoverScenarios) {
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
