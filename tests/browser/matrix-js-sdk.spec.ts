import { samplePng } from '../../demo/homeserver/png.js';
import { startSdkApp } from '../scenarios/testApps.js';
import type { AppServer } from './appServer.js';
import { expect, mediaRequests, test } from './fixtures.js';

// A real matrix-js-sdk client (bundled by Vite, as a client app is) signed in to the embedded
// homeserver: its URLs load through the worker, and its token stays in step with the worker's.

let sdkApp: AppServer;

test.beforeAll(async () => {
  test.setTimeout(180_000);
  sdkApp = await startSdkApp();
});

test.afterAll(async () => {
  await sdkApp?.close();
});

test('mxcUrlToHttp URLs, legacy and authenticated, load through the worker, and token refreshes keep SDK and worker in step', async ({ page, homeserver }) => {
  homeserver.accounts.accessTokenLifetimeMs = 60_000;
  homeserver.accounts.register('alice', 'pw');
  const login = (await (
    await fetch(`${homeserver.url}/_matrix/client/v3/login`, {
      method: 'POST',
      body: JSON.stringify({ type: 'm.login.password', identifier: { type: 'm.id.user', user: 'alice' }, password: 'pw', refresh_token: true }),
    })
  ).json()) as { user_id: string; access_token: string; refresh_token: string };

  await page.goto(`${sdkApp.url}/index.html`);
  await page.waitForFunction(() => window.ready === true);
  await page.evaluate(([hs, user, access, refresh]) => window.start(hs!, user!, access!, refresh!), [homeserver.url, login.user_id, login.access_token, login.refresh_token]);

  const a = homeserver.addMedia(samplePng(15, 10, 1), 'image/png');
  const b = homeserver.addMedia(samplePng(16, 10, 2), 'image/png');
  const urls = await page.evaluate(([ma, mb]) => [window.client.mxcUrlToHttp(ma!), window.client.mxcUrlToHttp(mb!, undefined, undefined, undefined, false, true, true)], [a, b]);
  expect(urls[0]).toContain('/_matrix/media/v3/download/');
  expect(urls[1]).toContain('/_matrix/client/v1/media/download/');
  expect(await page.evaluate((u) => window.loadImage(u!), urls[0])).toEqual({ ok: true, width: 15, height: 10 });
  expect(await page.evaluate((u) => window.loadImage(u!), urls[1])).toEqual({ ok: true, width: 16, height: 10 });
  expect(mediaRequests(homeserver).map((r) => r.authorization)).toEqual([`Bearer ${login.access_token}`, `Bearer ${login.access_token}`]);

  // The token expires: the worker asks the page, which refreshes through the SDK.
  homeserver.accounts.expireAccessTokens();
  const c = homeserver.addMedia(samplePng(17, 10, 3), 'image/png');
  const url = await page.evaluate((m) => window.client.mxcUrlToHttp(m)!, c);
  expect(await page.evaluate((u) => window.loadImage(u), url)).toEqual({ ok: true, width: 17, height: 10 });
  expect(await page.evaluate(() => window.workerRefreshes)).toBe(1);
  // The SDK now holds the same new token: its own API calls work without another refresh.
  const whoami = await page.evaluate(async () => (await window.client.whoami()).user_id);
  expect(whoami).toBe(login.user_id);
  const fresh = mediaRequests(homeserver).at(-1)!.authorization;
  const whoamiAuth = homeserver.log.filter((r) => r.path === '/_matrix/client/v3/account/whoami').at(-1)!.authorization;
  expect(fresh).not.toBe(`Bearer ${login.access_token}`);
  expect(whoamiAuth).toBe(fresh);
});
