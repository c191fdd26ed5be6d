import { test as base, expect, type Page } from '@playwright/test';
import { resolve } from 'node:path';
import { startHomeserver, type Homeserver, type HomeserverOptions } from '../../demo/homeserver/server.js';
import { startAppServer, type AppServer } from './appServer.js';

const ROOT = resolve(import.meta.dirname, '../..');

export interface Fixtures {
  /** Options for this test's homeserver; set with test.use(). */
  homeserverOptions: HomeserverOptions;
  /** A fresh embedded homeserver on 127.0.0.1 for each test. */
  homeserver: Homeserver;
  /** The test page, loaded from the app origin and ready to register. */
  appPage: Page;
}

export const test = base.extend<Fixtures, { app: AppServer }>({
  homeserverOptions: [{}, { option: true }],
  app: [
    async ({}, use) => {
      const app = await startAppServer([resolve(ROOT, 'tests/browser/pages'), resolve(ROOT, 'dist')]);
      await use(app);
      await app.close();
    },
    { scope: 'worker' },
  ],
  homeserver: async ({ homeserverOptions }, use) => {
    const homeserver = await startHomeserver(homeserverOptions);
    await use(homeserver);
    await homeserver.close();
  },
  appPage: async ({ page, app }, use) => {
    app.workerBuild = 0;
    app.overrides.clear();
    app.spaFallback = false;
    app.proxy = undefined;
    await page.goto(`${app.url}/index.html`);
    await page.waitForFunction(() => (window as unknown as { ready?: boolean }).ready === true);
    await use(page);
  },
});

export { expect };

/** Media requests (not /versions, not preflights) the homeserver received. */
export function mediaRequests(homeserver: Homeserver) {
  return homeserver.log.filter((entry) => entry.method !== 'OPTIONS' && /\/_matrix\/(media|client\/v1\/media)\//.test(entry.path));
}

/** Registers the page with the homeserver and token; fails the test with the page's error otherwise. */
export async function register(page: Page, options: Record<string, unknown>): Promise<{ sessionId: string; index: number }> {
  const result = await page.evaluate((o) => (window as any).register(o), options);
  expect(result, JSON.stringify(result)).toMatchObject({ ok: true });
  return result;
}

export async function loadImage(page: Page, src: string): Promise<{ ok: boolean; width: number; height: number }> {
  return page.evaluate((s) => (window as any).loadImage(s), src);
}
