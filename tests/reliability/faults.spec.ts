import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Page } from '@playwright/test';
import { samplePng } from '../../demo/homeserver/png.js';
import type { Homeserver } from '../../demo/homeserver/server.js';
import { expect, legacy, loadImage, register, stopServiceWorkers, test } from './fixtures.js';

// Faults survived: each test injects one (and says so to the report) and checks what the user
// sees and what the homeserver received.

const VIDEO = readFileSync(resolve(import.meta.dirname, '../../demo/media/sample-video.webm'));

function mediaGets(homeserver: Homeserver, from = 0) {
  return homeserver.log.slice(from).filter((r) => r.method === 'GET' && /\/_matrix\/(media|client\/v1\/media)\//.test(r.path));
}

async function loginWithRefresh(homeserver: Homeserver, user: string): Promise<{ access_token: string; refresh_token: string }> {
  homeserver.accounts.register(user, 'pw');
  const response = await fetch(`${homeserver.url}/_matrix/client/v3/login`, {
    method: 'POST',
    body: JSON.stringify({ type: 'm.login.password', identifier: { type: 'm.id.user', user }, password: 'pw', refresh_token: true }),
  });
  return (await response.json()) as { access_token: string; refresh_token: string };
}

async function loadAll(page: Page, urls: string[]): Promise<Array<{ ok: boolean }>> {
  return page.evaluate((list) => Promise.all(list.map((u) => (window as any).loadImage(u))), urls);
}

test.describe('faults survived', () => {
  test('the worker is stopped mid-session: the next media loads with the token from storage, without the page', async ({
    appPage: page,
    homeserver,
    faults,
    browserName,
  }) => {
    test.skip(browserName !== 'chromium', 'only Chromium lets a test stop a service worker (CDP ServiceWorker.stopAllWorkers)');
    const token = homeserver.register('alice', 'pw');
    await register(page, { homeserverUrl: homeserver.url, accessToken: token });
    expect((await loadImage(page, legacy(homeserver, homeserver.addMedia(samplePng(4, 4, 1), 'image/png')))).ok).toBe(true);
    await page.evaluate(() => {
      (window as any).asked = 0;
      navigator.serviceWorker.addEventListener('message', () => (window as any).asked++);
    });
    await stopServiceWorkers(page);
    faults.inject('worker stopped');
    const from = homeserver.log.length;
    const urls = [1, 2, 3].map((i) => legacy(homeserver, homeserver.addMedia(samplePng(4, 4, 10 + i), 'image/png')));
    expect((await loadAll(page, urls)).every((r) => r.ok)).toBe(true);
    expect(mediaGets(homeserver, from).map((r) => r.authorization)).toEqual(Array(3).fill(`Bearer ${token}`));
    expect(await page.evaluate(() => (window as any).asked)).toBe(0);
  });

  test('the worker updates while a video plays: playback goes on, and new media goes through the new version', async ({
    appPage: page,
    app,
    homeserver,
    faults,
  }) => {
    const token = homeserver.register('alice', 'pw');
    await register(page, { homeserverUrl: homeserver.url, accessToken: token });
    const video = homeserver.addMedia(VIDEO, 'video/webm', 'clip.webm');
    await page.evaluate(async (src) => {
      const v = document.createElement('video');
      v.muted = true;
      v.crossOrigin = 'anonymous';
      v.id = 'playing';
      document.body.append(v);
      v.src = src;
      await v.play();
    }, legacy(homeserver, video));
    const before = await page.evaluate(() => (document.getElementById('playing') as HTMLVideoElement).currentTime);
    app.workerBuild += 1;
    faults.inject('worker update during playback');
    const taken = page.evaluate(() => new Promise<boolean>((r) => navigator.serviceWorker.addEventListener('controllerchange', () => r(true), { once: true })));
    await page.evaluate(async () => (await navigator.serviceWorker.getRegistration())!.update());
    expect(await taken).toBe(true);
    await page.waitForTimeout(1500);
    const after = await page.evaluate(() => {
      const v = document.getElementById('playing') as HTMLVideoElement;
      return { time: v.currentTime, paused: v.paused, error: v.error?.code ?? null };
    });
    expect(after).toMatchObject({ paused: false, error: null });
    expect(after.time).toBeGreaterThan(before + 0.5);
    // The old worker is gone (redundant): this image can only have gone through the new one.
    const from = homeserver.log.length;
    expect((await loadImage(page, legacy(homeserver, homeserver.addMedia(samplePng(4, 4, 2), 'image/png')))).ok).toBe(true);
    expect(mediaGets(homeserver, from).map((r) => r.authorization)).toEqual([`Bearer ${token}`]);
  });

  test('a video plays and seeks through the worker (crossorigin), against a server that ignores Range', async ({ appPage: page, homeserver }) => {
    homeserver.config.rangeSupport = false;
    const token = homeserver.register('alice', 'pw');
    await register(page, { homeserverUrl: homeserver.url, accessToken: token });
    const result = await page.evaluate(async (src) => {
      const v = document.createElement('video');
      v.muted = true;
      v.crossOrigin = 'anonymous';
      document.body.append(v);
      await new Promise((ok, fail) => {
        v.addEventListener('loadedmetadata', ok, { once: true });
        v.addEventListener('error', () => fail(new Error(`video error ${v.error?.code}`)), { once: true });
        v.src = src;
      });
      const seeked = new Promise((r) => v.addEventListener('seeked', r, { once: true }));
      v.currentTime = 25;
      await seeked;
      return { duration: v.duration, at: v.currentTime };
    }, legacy(homeserver, homeserver.addMedia(VIDEO, 'video/webm', 'clip.webm')));
    expect(result.duration).toBeGreaterThan(29);
    expect(result.at).toBeGreaterThanOrEqual(24.5);
    expect(mediaGets(homeserver).every((r) => r.authorization === `Bearer ${token}` && r.status === 200)).toBe(true);
  });

  test('the token expires: a burst of 50 failing images makes one refresh, each retried once, and all load', async ({ appPage: page, homeserver, faults }) => {
    homeserver.config.accessTokenLifetimeMs = 60_000;
    homeserver.accounts.accessTokenLifetimeMs = 60_000;
    const login = await loginWithRefresh(homeserver, 'alice');
    const registered = await page.evaluate(
      ({ hs, access, refresh }) => (window as any).registerWithRefresh(hs, access, refresh),
      { hs: homeserver.url, access: login.access_token, refresh: login.refresh_token },
    );
    expect(registered).toMatchObject({ ok: true });
    homeserver.accounts.expireAccessTokens();
    faults.inject('access token expired');
    const from = homeserver.log.length;
    const urls = Array.from({ length: 50 }, (_, i) => legacy(homeserver, homeserver.addMedia(samplePng(3, 3, i), 'image/png')));
    expect((await loadAll(page, urls)).filter((r) => r.ok)).toHaveLength(50);
    expect(await page.evaluate(() => (window as any).refreshCount)).toBe(1);
    const gets = mediaGets(homeserver, from);
    expect(gets.filter((r) => r.status === 200)).toHaveLength(50);
    // Each image at most twice: once refused, once retried.
    const perImage = new Map<string, number>();
    for (const r of gets) perImage.set(r.path, (perImage.get(r.path) ?? 0) + 1);
    expect(Math.max(...perImage.values())).toBeLessThanOrEqual(2);
    expect(homeserver.log.slice(from).filter((r) => r.method === 'POST' && r.path === '/_matrix/client/v3/refresh')).toHaveLength(1);
  });

  for (const mode of ['null', 'throw'] as const) {
    test(`the token expires and refreshAccessToken ${mode === 'null' ? 'returns null' : 'throws'}: images fail with the homeserver's error, nothing loops`, async ({
      appPage: page,
      homeserver,
      faults,
    }) => {
      homeserver.accounts.accessTokenLifetimeMs = 60_000;
      const login = await loginWithRefresh(homeserver, 'alice');
      await page.evaluate(
        ({ hs, access, refresh, mode }) => (window as any).registerWithRefresh(hs, access, refresh, mode),
        { hs: homeserver.url, access: login.access_token, refresh: login.refresh_token, mode },
      );
      homeserver.accounts.expireAccessTokens();
      faults.inject(`refresh ${mode}`);
      const from = homeserver.log.length;
      const urls = Array.from({ length: 10 }, (_, i) => legacy(homeserver, homeserver.addMedia(samplePng(3, 3, i), 'image/png')));
      expect((await loadAll(page, urls)).filter((r) => r.ok)).toHaveLength(0);
      const error = await page.evaluate(async (u) => {
        const res = await fetch(u);
        return { status: res.status, body: await res.json() };
      }, urls[0]!);
      expect(error).toMatchObject({ status: 401, body: { errcode: 'M_UNKNOWN_TOKEN', soft_logout: true } });
      // One request per image (and one for the fetch): refused, not retried, not looped.
      expect(mediaGets(homeserver, from)).toHaveLength(11);
      // The page was asked once: a token it could not replace is not asked about again.
      expect(await page.evaluate(() => (window as any).refreshCount)).toBe(1);
    });
  }

  test('429 with retry_after_ms is retried after that delay, within a bound', async ({ appPage: page, homeserver, faults }) => {
    const token = homeserver.register('alice', 'pw');
    await register(page, { homeserverUrl: homeserver.url, accessToken: token });
    Object.assign(homeserver.config, { rateLimitNext: 1, retryAfterMs: 800 });
    faults.inject('429 M_LIMIT_EXCEEDED');
    const from = homeserver.log.length;
    expect((await loadImage(page, legacy(homeserver, homeserver.addMedia(samplePng(4, 4), 'image/png')))).ok).toBe(true);
    const gets = mediaGets(homeserver, from);
    expect(gets.map((r) => r.status)).toEqual([429, 200]);
    expect(gets[1]!.time - gets[0]!.time).toBeGreaterThanOrEqual(750);
    // A wait longer than the worker's bound is not waited out: the element gets the 429.
    Object.assign(homeserver.config, { rateLimitNext: 1, retryAfterMs: 60_000 });
    faults.inject('429 with a minute to wait');
    const status = await page.evaluate(async (u) => (await fetch(u)).status, legacy(homeserver, homeserver.addMedia(samplePng(4, 4, 1), 'image/png')));
    expect(status).toBe(429);
  });

  test('504 M_NOT_YET_UPLOADED is retried while timeout_ms allows, and the media loads once uploaded', async ({ appPage: page, homeserver, faults }) => {
    const token = homeserver.register('alice', 'pw');
    await register(page, { homeserverUrl: homeserver.url, accessToken: token });
    // The server gives up on waiting after 300 ms, long before the client's 10 s.
    homeserver.config.maxUploadWaitMs = 300;
    const created = (await (await fetch(`${homeserver.url}/_matrix/media/v1/create`, { method: 'POST', headers: { Authorization: `Bearer ${token}` } })).json()) as {
      content_uri: string;
    };
    faults.inject('504 M_NOT_YET_UPLOADED');
    const from = homeserver.log.length;
    const loading = loadImage(page, `${legacy(homeserver, created.content_uri)}?timeout_ms=10000`);
    await new Promise((r) => setTimeout(r, 1500));
    const put = await fetch(`${homeserver.url}/_matrix/media/v3/upload/${created.content_uri.slice(6)}`, {
      method: 'PUT',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'image/png' },
      body: new Uint8Array(samplePng(9, 9)),
    });
    expect(put.status).toBe(200);
    expect(await loading).toEqual({ ok: true, width: 9, height: 9 });
    const statuses = mediaGets(homeserver, from).map((r) => r.status);
    expect(statuses.filter((s) => s === 504).length).toBeGreaterThanOrEqual(2);
    expect(statuses.at(-1)).toBe(200);
  });

  for (const [status, errcode] of [[500, 'M_UNKNOWN'], [404, 'M_NOT_FOUND']] as const) {
    test(`${status} goes back to the element unchanged`, async ({ appPage: page, homeserver, faults }) => {
      const token = homeserver.register('alice', 'pw');
      await register(page, { homeserverUrl: homeserver.url, accessToken: token });
      const mxc = status === 404 ? `mxc://${homeserver.serverName}/doesnotexist` : homeserver.addMedia(samplePng(4, 4), 'image/png');
      if (status === 500) Object.assign(homeserver.config, { failNext: 2, failStatus: 500 });
      faults.inject(`${status} ${errcode}`);
      const from = homeserver.log.length;
      expect((await loadImage(page, legacy(homeserver, mxc))).ok).toBe(false);
      const seen = await page.evaluate(async (u) => {
        const res = await fetch(u);
        return { status: res.status, body: await res.json() };
      }, legacy(homeserver, mxc));
      expect(seen).toMatchObject({ status, body: { errcode } });
      expect(mediaGets(homeserver, from)).toHaveLength(2);
    });
  }

  test('the homeserver is down: the element gets an error at once, and the page stays responsive', async ({ appPage: page, homeserver, faults }) => {
    const token = homeserver.register('alice', 'pw');
    await register(page, { homeserverUrl: homeserver.url, accessToken: token });
    const url = legacy(homeserver, homeserver.addMedia(samplePng(4, 4), 'image/png'));
    await homeserver.close();
    faults.inject('homeserver down');
    expect((await loadImage(page, url)).ok).toBe(false);
    expect(await page.evaluate(() => 6 * 7)).toBe(42);
  });

  test('the homeserver hangs: the element gets an error within 40 s, never a request that hangs for ever, and the page stays responsive', async ({
    appPage: page,
    homeserver,
    faults,
  }) => {
    test.setTimeout(90_000);
    const token = homeserver.register('alice', 'pw');
    await register(page, { homeserverUrl: homeserver.url, accessToken: token });
    const url = legacy(homeserver, homeserver.addMedia(samplePng(4, 4), 'image/png'));
    homeserver.config.hang = true;
    faults.inject('homeserver hangs');
    const loading = loadImage(page, url);
    // While the request hangs, the page answers at once.
    expect(await page.evaluate(() => 6 * 7)).toBe(42);
    const result = await Promise.race([loading, new Promise<'still waiting'>((r) => setTimeout(() => r('still waiting'), 40_000))]);
    expect(result).toEqual({ ok: false, width: 0, height: 0 });
  });

  test('/versions fails once, then works: the failure is not remembered', async ({ appPage: page, homeserver, faults }) => {
    const token = homeserver.register('alice', 'pw');
    homeserver.config.failVersionsNext = 1;
    faults.inject('/versions 500');
    await register(page, { homeserverUrl: homeserver.url, accessToken: token });
    for (const seed of [1, 2]) expect((await loadImage(page, legacy(homeserver, homeserver.addMedia(samplePng(4, 4, seed), 'image/png')))).ok).toBe(true);
    const versions = homeserver.log.filter((r) => r.path === '/_matrix/client/versions').map((r) => r.status);
    expect(versions).toEqual([500, 200]);
    expect(mediaGets(homeserver).every((r) => r.authorization === `Bearer ${token}`)).toBe(true);
  });

  test('500 different images at once all load, with one /versions request and no token lookups from the page', async ({ appPage: page, homeserver }) => {
    test.setTimeout(120_000);
    const token = homeserver.register('alice', 'pw');
    await register(page, { homeserverUrl: homeserver.url, accessToken: token });
    await page.evaluate(() => {
      (window as any).asked = 0;
      navigator.serviceWorker.addEventListener('message', () => (window as any).asked++);
    });
    const urls = Array.from({ length: 500 }, (_, i) => legacy(homeserver, homeserver.addMedia(samplePng(2, 2, i), 'image/png')));
    expect((await loadAll(page, urls)).filter((r) => r.ok)).toHaveLength(500);
    expect(homeserver.log.filter((r) => r.path === '/_matrix/client/versions')).toHaveLength(1);
    expect(mediaGets(homeserver).filter((r) => r.status === 200 && r.authorization === `Bearer ${token}`)).toHaveLength(500);
    expect(await page.evaluate(() => (window as any).asked)).toBe(0);
  });
});
