import { dirname, resolve } from 'node:path';
import { samplePng } from '../../demo/homeserver/png.js';
import { workboxAppFiles } from '../scenarios/testApps.js';
import { startAppServer, type AppServer } from './appServer.js';
import { expect, mediaRequests, register, test } from './fixtures.js';

// An app with its own Workbox worker includes the add-on through `matrix-media-sw/workbox`
// (the built dist/workbox.js, resolved by package name as a user's bundler would).

const ROOT = resolve(import.meta.dirname, '../..');
let workboxApp: AppServer;

test.beforeAll(async () => {
  const built = dirname((await workboxAppFiles())['/app-sw.js']!);
  workboxApp = await startAppServer([built, resolve(ROOT, 'tests/workbox-app'), resolve(ROOT, 'tests/browser/pages'), resolve(ROOT, 'dist')]);
});

test.afterAll(async () => {
  await workboxApp?.close();
});

test('an app\'s own Workbox worker serves its offline shell and, with the add-on in it, authenticated media', async ({ page, context, homeserver }) => {
  await page.goto(`${workboxApp.url}/shell.html`);
  await page.waitForFunction(() => (window as any).ready === true);
  const token = homeserver.register('alice', 'pw');
  await register(page, { homeserverUrl: homeserver.url, accessToken: token });

  const mxc = homeserver.addMedia(samplePng(24, 16), 'image/png', 'pic.png');
  const legacyUrl = `${homeserver.url}/_matrix/media/v3/download/${mxc.slice(6)}`;
  expect(await page.evaluate((u) => (window as any).loadImage(u), legacyUrl)).toEqual({ ok: true, width: 24, height: 16 });
  expect(mediaRequests(homeserver).map((r) => [r.path.split('/localhost/')[0], r.authorization])).toEqual([
    ['/_matrix/client/v1/media/download', `Bearer ${token}`],
  ]);

  // A mediaUrl navigation reaches the media route, not the app's catch-all navigation route.
  const url = await page.evaluate((m) => (window as any).handles[0].mediaUrl(m, { filename: 'pic.png' }), mxc);
  const tab = await context.newPage();
  const response = await tab.goto(url);
  expect(response?.headers()['content-type']).toBe('image/png');
  await tab.close();

  // Offline, any navigation gets the precached shell from the app's own routes.
  await context.setOffline(true);
  const offline = await context.newPage();
  await offline.goto(`${workboxApp.url}/some/deep/link`);
  await expect(offline.locator('#shell')).toHaveText("The app's offline shell");
  await context.setOffline(false);
});
