import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startHomeserver, type Homeserver } from '../../demo/homeserver/server.js';
import { startAppServer, type AppServer } from '../browser/appServer.js';
import { leakIn } from '../reliability/leaks.js';
import type { PageDriver } from '../scenarios/driver.js';
import { skipReason } from '../scenarios/reliability/env.js';
import { reliabilityGroups } from '../scenarios/reliability/index.js';
import { startWebKitDriver, webkitDriver, type WebKitDriver, type WebKitSession } from './webdriver.js';

// The reliability scenarios (tests/scenarios/reliability/) in WebKitGTK's MiniBrowser over W3C
// WebDriver, each in a new session (a new, empty profile), with the same leak audit and figures
// for the report as the Playwright engines (tests/reliability/fixtures.ts).

const ROOT = resolve(import.meta.dirname, '../..');
const METRICS_DIR = resolve(ROOT, 'test-results/reliability');

let driver: WebKitDriver;
let app: AppServer;
let homeserver: Homeserver;
let attacker: Homeserver;
let session: WebKitSession;
let page: PageDriver;
/** What the running scenario reported: its faults, notes, and why it was skipped. */
let record: { faults: string[]; notes: string[]; skipReason: string | null };

beforeAll(async () => {
  app = await startAppServer([resolve(ROOT, 'tests/browser/pages'), resolve(ROOT, 'dist')]);
  driver = await startWebKitDriver();
});
afterAll(async () => {
  await driver?.stop();
  await app?.close();
});

beforeEach(async () => {
  app.workerBuild = 0;
  app.overrides.clear();
  app.spaFallback = false;
  app.proxy = undefined;
  homeserver = await startHomeserver();
  attacker = await startHomeserver({ serverName: 'evil.example' });
  session = await driver.newSession();
  page = webkitDriver(session);
  record = { faults: [], notes: [], skipReason: null };
});

afterEach(async (context) => {
  await session.close();
  const leaks = [...homeserver.log.map((e) => leakIn(e, 'homeserver')), ...attacker.log.map((e) => leakIn(e, 'attacker'))].filter(Boolean);
  mkdirSync(METRICS_DIR, { recursive: true });
  const title = `${context.task.suite?.name ?? ''} › ${context.task.name}`;
  // afterEach runs before the result is final: a thrown assertion already marks it failed.
  const failed = context.task.result?.state === 'fail' || leaks.length > 0;
  writeFileSync(
    resolve(METRICS_DIR, `webkit--${title.replace(/[^a-z0-9]+/gi, '-')}.json`),
    JSON.stringify({
      engine: 'webkit',
      title,
      requests: homeserver.log.length + attacker.log.length,
      leaks: leaks.length,
      faults: record.faults.length,
      status: record.skipReason !== null ? 'skipped' : failed ? 'failed' : 'passed',
      skipReason: record.skipReason,
      notes: record.notes,
    }),
  );
  await homeserver.close();
  await attacker.close();
  expect(leaks, 'token leaks').toEqual([]);
});

for (const group of reliabilityGroups) {
  describe(group.title, () => {
    for (const scenario of group.scenarios) {
      it(scenario.title, { timeout: scenario.timeoutMs ?? 60_000 }, async (context) => {
        const reason = skipReason(scenario, page);
        if (reason !== undefined) {
          record.skipReason = reason;
          context.skip(reason);
          return;
        }
        await page.open(`${app.url}/index.html`);
        await scenario.run({
          driver: page,
          app,
          homeserver,
          attacker,
          faults: { inject: (what) => void record.faults.push(what), injected: record.faults },
          note: (text) => {
            record.notes.push(text);
            context.annotate(text);
          },
        });
      });
    }
  });
}
