import { samplePng } from '../../demo/homeserver/png.js';
import { pwaAppDir } from '../scenarios/testApps.js';
import { startAppServer } from './appServer.js';
import { expect, test } from './fixtures.js';

// The README's recipe for an app with its own worker, for real: a PWA built by vite-plugin-pwa
// (strategies: 'injectManifest') from the README's src/sw.ts and vite.config.ts, with
// installMatrixMedia() in its worker. Its precache must serve the app, and its media must carry
// the token.

test('an app built with vite-plugin-pwa (injectManifest) and installMatrixMedia: its precache serves it, its media carry the token', async ({ page, homeserver }) => {
  test.setTimeout(120_000);
  const app = await startAppServer([await pwaAppDir()]);
  let serving = true;
  try {
    await page.goto(`${app.url}/index.html`);
    await page.waitForFunction(() => (window as any).ready === true);
    const token = homeserver.register('alice', 'pw');
    expect(await page.evaluate((o) => (window as any).start(o), { homeserverUrl: homeserver.url, accessToken: token })).toBe('service-worker');
    expect(await page.evaluate(() => navigator.serviceWorker.controller?.scriptURL)).toBe(`${app.url}/sw.js`);

    const show = async (seed: number) => {
      const mxc = homeserver.addMedia(samplePng(10 + seed, 8), 'image/png');
      const from = homeserver.log.length;
      const shown = await page.evaluate((u) => (window as any).loadImage(u), `${homeserver.url}/_matrix/media/v3/download/${mxc.slice(6)}`);
      const sent = homeserver.log.slice(from).filter((r) => r.method === 'GET' && r.path.includes('/media/'));
      return { shown, tokens: sent.map((r) => r.authorization) };
    };
    expect(await show(1)).toEqual({ shown: { ok: true, width: 11, height: 8 }, tokens: [`Bearer ${token}`] });

    // What vite-plugin-pwa put in the precache: the page and its script.
    const precached = await page.evaluate(async () => {
      const names = await caches.keys();
      const urls = [];
      for (const name of names.filter((n) => n.startsWith('workbox-precache'))) {
        for (const request of await (await caches.open(name)).keys()) urls.push(new URL(request.url).pathname);
      }
      return urls;
    });
    expect(precached).toContain('/index.html');
    expect(precached.some((path) => /^\/assets\/.+\.js$/.test(path))).toBe(true);

    // The app's server gone: a reload and a deep link come from the precache, and media still load.
    await app.close();
    serving = false;
    await page.reload();
    await page.waitForFunction(() => (window as any).ready === true);
    await page.goto(`${app.url}/rooms/!abc:example.org`);
    await page.waitForFunction(() => (window as any).ready === true);
    expect(await page.evaluate((o) => (window as any).start(o), { homeserverUrl: homeserver.url, accessToken: token })).toBe('service-worker');
    expect(await show(2)).toEqual({ shown: { ok: true, width: 12, height: 8 }, tokens: [`Bearer ${token}`] });
  } finally {
    if (serving) await app.close();
  }
});
