import type { Page } from '@playwright/test';
import { paddedVideo, PLAY_AND_SEEK, storeContents, storeScenarios, untilStored, VIDEO } from '../scenarios/store.js';
import { storeRuleScenarios } from '../scenarios/storeRules.js';
import { expect, register, test } from './fixtures.js';
import { pageDriver } from './pageDriver.js';
import { runScenarios } from './runScenarios.js';

runScenarios('each file downloaded once', storeScenarios);
runScenarios('the store follows the server and the app', storeRuleScenarios);

// A homeserver that ignores Range, as Synapse does, and says no-cache, so that only the worker's
// store can spare a second download.
test.use({ homeserverOptions: { rangeSupport: false, mediaCacheControl: 'no-cache' } });

const play = (page: Page, src: string, unload = false) =>
  pageDriver(page, 'chromium').run<{ loaded: string; played: boolean }>(PLAY_AND_SEEK, { src, at: 0.5, unload });

test.describe('the media store', () => {
  test('two users in two tabs do not share stored bytes: the second downloads with its own token', async ({ context, app, homeserver }) => {
    const tokens = [homeserver.register('alice', 'pw'), homeserver.register('bob', 'pw')];
    const mxc = homeserver.addMedia(VIDEO, 'video/webm', 'clip.webm');
    const pages = [];
    for (const token of tokens) {
      const page = await context.newPage();
      await page.goto(`${app.url}/index.html`);
      await page.waitForFunction(() => (window as any).ready === true);
      await register(page, { homeserverUrl: homeserver.url, accessToken: token });
      pages.push(page);
    }
    const src = (page: Page) => page.evaluate((m) => (window as any).handles[0].mediaUrl(m), mxc);
    expect(await play(pages[0]!, await src(pages[0]!))).toMatchObject({ loaded: 'loadedmetadata', played: true });
    await untilStored(pageDriver(pages[0]!, 'chromium'), mxc, VIDEO.length);
    const from = homeserver.log.length;
    expect(await play(pages[1]!, await src(pages[1]!))).toMatchObject({ loaded: 'loadedmetadata', played: true });
    const gets = homeserver.log.slice(from).filter((r) => r.method === 'GET' && r.path.includes('/media/'));
    expect(gets.length).toBeGreaterThan(0);
    expect(new Set(gets.map((r) => r.authorization))).toEqual(new Set([`Bearer ${tokens[1]}`]));
  });

  test('after signOut the store holds none of the session\'s bytes', async ({ appPage: page, homeserver }) => {
    const token = homeserver.register('alice', 'pw');
    const { sessionId } = await register(page, { homeserverUrl: homeserver.url, accessToken: token });
    const mxc = homeserver.addMedia(VIDEO, 'video/webm');
    const src = await page.evaluate((m) => (window as any).handles[0].mediaUrl(m), mxc);
    expect(await play(page, src)).toMatchObject({ played: true });
    const driver = pageDriver(page, 'chromium');
    await untilStored(driver, mxc, VIDEO.length);
    expect((await storeContents(driver)).map((f) => f.sessionId)).toEqual([sessionId]);
    await page.evaluate(() => (window as any).handles[0].signOut());
    expect(await storeContents(driver)).toEqual([]);
    const chunks = await page.evaluate(
      () =>
        new Promise<number>((resolve) => {
          const open = indexedDB.open('matrix-media-sw-store');
          open.onsuccess = () => {
            const count = open.result.transaction('chunks').objectStore('chunks').count();
            count.onsuccess = () => resolve(count.result);
          };
        }),
    );
    expect(chunks).toBe(0);
  });

  test('with storeBytes at 50 MB, three 40 MB videos all play, and the least recently used is the one evicted', async ({ appPage: page, homeserver }) => {
    test.setTimeout(120_000);
    const token = homeserver.register('alice', 'pw');
    await register(page, { homeserverUrl: homeserver.url, accessToken: token, storeBytes: 50 * 1024 * 1024 });
    const driver = pageDriver(page, 'chromium');
    const size = 40 * 1024 * 1024;
    const held: string[][] = [];
    const mediaIds: string[] = [];
    for (const seed of [1, 2, 3]) {
      const mxc = homeserver.addMedia(paddedVideo(40, seed), 'video/webm', `v${seed}.webm`);
      mediaIds.push(mxc.split('/').pop()!);
      const src = await page.evaluate((m) => (window as any).handles[0].mediaUrl(m), mxc);
      // Done with it, as an app is: a Firefox element left loading asked for the evicted video
      // again later, and its new download sat beside the next one in the store.
      expect(await play(page, src, true), `video ${seed}`).toMatchObject({ loaded: 'loadedmetadata', played: true });
      // Saved as a file: read whole, so the store holds all of it.
      expect(await page.evaluate(async (u) => (await (await fetch(u)).arrayBuffer()).byteLength, src)).toBe(size);
      await untilStored(driver, mxc, size);
      held.push((await storeContents(driver)).map((f) => f.key.split('/').pop()!));
    }
    // Room for one at a time: each new video evicts the one used before it.
    expect(held).toEqual(mediaIds.map((id) => [id]));
  });

  test('the worker reports a long download\'s progress, and where each response came from', async ({ appPage: page, homeserver }) => {
    homeserver.config.mediaBytesPerSecond = 4_000_000;
    const token = homeserver.register('alice', 'pw');
    await register(page, { homeserverUrl: homeserver.url, accessToken: token });
    const big = paddedVideo(6, 4);
    const mxc = homeserver.addMedia(big, 'video/webm');
    await page.evaluate(async () => {
      (window as any).progress = [];
      (window as any).reports = [];
      await (window as any).handles[0].onProgress((p: unknown) => (window as any).progress.push(p));
      await (window as any).handles[0].onDiagnostic((e: unknown) => (window as any).reports.push(e));
    });
    const src = await page.evaluate((m) => (window as any).handles[0].mediaUrl(m), mxc);
    expect(await play(page, src)).toMatchObject({ played: true });
    await untilStored(pageDriver(page, 'chromium'), mxc, big.length);
    // The last report is posted once the last chunk is stored: it may arrive just after.
    await expect.poll(() => page.evaluate(() => (window as any).progress.at(-1)?.loaded)).toBe(big.length);
    const progress = await page.evaluate(() => (window as any).progress as Array<{ media: string; loaded: number; total: number }>);
    expect(progress.length).toBeGreaterThan(2);
    expect(progress.every((p) => p.media === mxc && p.total === big.length)).toBe(true);
    expect(progress.map((p) => p.loaded)).toEqual([...progress.map((p) => p.loaded)].sort((a, b) => a - b));
    expect(progress.at(-1)!.loaded).toBe(big.length);
    const sources = await page.evaluate(() => (window as any).reports.map((e: { source: string }) => e.source));
    expect(sources).toContain('network');
  });
});
