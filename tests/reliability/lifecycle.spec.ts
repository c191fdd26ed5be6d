import type { Page } from '@playwright/test';
import { samplePng } from '../../demo/homeserver/png.js';
import type { Homeserver } from '../../demo/homeserver/server.js';
import { expect, legacy, loadImage, register, stopServiceWorkers, test } from './fixtures.js';

// Lifecycle: whatever state the page and worker are in, the homeserver never receives an
// unauthenticated request for media the page shows.

async function showAfterRegistering(page: Page, homeserver: Homeserver, token: string, count: number): Promise<boolean> {
  await register(page, { homeserverUrl: homeserver.url, accessToken: token });
  const urls = Array.from({ length: count }, (_, i) => legacy(homeserver, homeserver.addMedia(samplePng(4, 4, i), 'image/png')));
  const results = await page.evaluate((list) => Promise.all(list.map((u) => (window as any).loadImage(u))), urls);
  return results.every((r: { ok: boolean }) => r.ok);
}

function unauthenticatedMedia(homeserver: Homeserver) {
  return homeserver.log.filter((r) => r.method === 'GET' && r.path.includes('/media/') && r.authorization === null);
}

test.describe('lifecycle', () => {
  test('a first visit', async ({ appPage: page, homeserver }) => {
    const token = homeserver.register('alice', 'pw');
    expect(await page.evaluate(() => navigator.serviceWorker.controller)).toBeNull();
    expect(await showAfterRegistering(page, homeserver, token, 5)).toBe(true);
    expect(unauthenticatedMedia(homeserver)).toEqual([]);
  });

  test('a normal reload', async ({ appPage: page, homeserver }) => {
    const token = homeserver.register('alice', 'pw');
    await showAfterRegistering(page, homeserver, token, 1);
    await page.reload();
    await page.waitForFunction(() => (window as any).ready === true);
    expect(await showAfterRegistering(page, homeserver, token, 5)).toBe(true);
    expect(unauthenticatedMedia(homeserver)).toEqual([]);
  });

  test('a hard reload', async ({ appPage: page, homeserver, browserName, faults }) => {
    test.skip(browserName !== 'chromium', 'a hard reload (bypassing the worker) is issued through CDP Page.reload({ignoreCache}), which only Chromium offers');
    const token = homeserver.register('alice', 'pw');
    await showAfterRegistering(page, homeserver, token, 1);
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Page.reload', { ignoreCache: true });
    faults.inject('hard reload');
    await page.waitForFunction(() => (window as any).ready === true);
    expect(await page.evaluate(() => navigator.serviceWorker.controller)).toBeNull();
    expect(await showAfterRegistering(page, homeserver, token, 5)).toBe(true);
    expect(unauthenticatedMedia(homeserver)).toEqual([]);
  });

  test('two tabs signed in as two users each send their own token, also after the worker restarts', async ({ context, app, homeserver, browserName, faults }) => {
    const tokens = [homeserver.register('alice', 'pw'), homeserver.register('bob', 'pw')];
    const pages = [await context.newPage(), await context.newPage()];
    for (const [i, page] of pages.entries()) {
      await page.goto(`${app.url}/index.html`);
      await page.waitForFunction(() => (window as any).ready === true);
      await register(page, { homeserverUrl: homeserver.url, accessToken: tokens[i] });
    }
    const tokenOf = async (page: Page, seed: number) => {
      const from = homeserver.log.length;
      expect((await loadImage(page, legacy(homeserver, homeserver.addMedia(samplePng(4, 4, seed), 'image/png')))).ok).toBe(true);
      return homeserver.log.slice(from).filter((r) => r.method === 'GET' && r.path.includes('/media/')).map((r) => r.authorization);
    };
    expect(await tokenOf(pages[0]!, 1)).toEqual([`Bearer ${tokens[0]}`]);
    expect(await tokenOf(pages[1]!, 2)).toEqual([`Bearer ${tokens[1]}`]);
    if (browserName === 'chromium') {
      await stopServiceWorkers(pages[0]!);
      faults.inject('worker stopped between two users');
      expect(await tokenOf(pages[1]!, 3)).toEqual([`Bearer ${tokens[1]}`]);
      expect(await tokenOf(pages[0]!, 4)).toEqual([`Bearer ${tokens[0]}`]);
    } else {
      test.info().annotations.push({ type: 'note', description: 'the worker restart part needs Chromium (CDP ServiceWorker.stopAllWorkers)' });
    }
  });
});
