import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Page } from '@playwright/test';
import { samplePhoto } from '../../demo/homeserver/samples.js';
import { expect, legacyUrl, loadImage, openAppPage, register, synapseRequests, test, upload, v1Url, whoami } from './fixtures.js';
import { REFRESHABLE_TOKEN_LIFETIME_MS } from './synapse.js';
import { pageDriver } from '../browser/pageDriver.js';
import { PLAY_AND_SEEK, untilStored } from '../scenarios/store.js';
import { startCountingProxy } from '../countingProxy.js';

// The add-on against a real Synapse (version pinned in synapse.ts), on another origin than the
// page, with no Playwright request routing. Where Synapse behaves differently from the embedded
// homeserver, differences.spec.ts records it.

const VIDEO = readFileSync(resolve(import.meta.dirname, '../../demo/media/sample-video.webm'));

/** The media requests Synapse logged after `from`, as [user, status, path]. */
function mediaLog(synapse: Parameters<typeof synapseRequests>[0], from: number) {
  return synapseRequests(synapse)
    .slice(from)
    .filter((r) => r.method === 'GET' && /\/_matrix\/(media|client\/v1\/media)\//.test(r.path));
}

async function signedIn(page: Page, appUrl: string, synapseUrl: string, token: string): Promise<void> {
  await openAppPage(page, appUrl);
  await register(page, { homeserverUrl: synapseUrl, accessToken: token });
}

test.describe('against Synapse', () => {
  test('fresh uploads: the legacy URL is frozen (404), yet it loads through the worker, as does the v1 URL', async ({ page, app, synapse }) => {
    const token = await synapse.register(`u${Date.now()}`, 'pw');
    const user = await whoami(synapse, token);
    const photo = await upload(synapse, token, await samplePhoto(640, 480, 1, 'jpeg'), 'image/jpeg', 'photo.jpg');
    const png = await upload(synapse, token, await samplePhoto(300, 200, 2, 'png'), 'image/png', 'photo.png');

    // Without the worker, the legacy endpoint answers 404 for media uploaded after the freeze.
    const direct = await fetch(legacyUrl(synapse, photo));
    expect(direct.status).toBe(404);
    expect(await direct.json()).toMatchObject({ errcode: 'M_NOT_FOUND' });

    await signedIn(page, app.url, synapse.url, token);
    const from = synapseRequests(synapse).length;
    expect(await loadImage(page, legacyUrl(synapse, photo))).toEqual({ ok: true, width: 640, height: 480 });
    expect(await loadImage(page, v1Url(synapse, png))).toEqual({ ok: true, width: 300, height: 200 });
    // Synapse writes a request's log line as it finishes: poll rather than race it.
    await expect.poll(() => mediaLog(synapse, from).map((r) => [r.user, r.status, r.path.split('/localhost/')[0]])).toEqual([
      [user, 200, '/_matrix/client/v1/media/download'],
      [user, 200, '/_matrix/client/v1/media/download'],
    ]);
  });

  test('thumbnails load at their requested sizes', async ({ page, app, synapse }) => {
    const token = await synapse.register(`u${Date.now()}`, 'pw');
    const photo = await upload(synapse, token, await samplePhoto(1600, 1200, 3, 'jpeg'), 'image/jpeg', 'big.jpg');
    await signedIn(page, app.url, synapse.url, token);
    const thumb = (query: string) => loadImage(page, `${legacyUrl(synapse, photo, 'thumbnail')}?${query}`);
    expect(await thumb('width=96&height=96&method=crop')).toEqual({ ok: true, width: 96, height: 96 });
    expect(await thumb('width=320&height=240&method=scale')).toEqual({ ok: true, width: 320, height: 240 });
    const avatar = await page.evaluate((m) => (window as any).handles[0].mediaUrl(m, { width: 32, height: 32, method: 'crop' }), photo);
    expect(await loadImage(page, avatar)).toEqual({ ok: true, width: 32, height: 32 });
  });

  test('a video played, sought to 90 %, reloaded and played again crosses the network once', async ({ page, app, synapse }) => {
    const token = await synapse.register(`u${Date.now()}`, 'pw');
    const video = await upload(synapse, token, VIDEO, 'video/webm', 'clip.webm');
    // Synapse sends public, max-age=86400; the worker's ranged reads skip the HTTP cache, so only
    // its store can spare the second download. The proxy counts what reaches the browser.
    const proxy = await startCountingProxy(synapse.url);
    try {
      const driver = pageDriver(page, 'chromium');
      await signedIn(page, app.url, proxy.url, token);
      const src = await page.evaluate((m) => (window as any).handles[0].mediaUrl(m), video);
      expect(await driver.run(PLAY_AND_SEEK, { src, at: 0.9 })).toEqual({ loaded: 'loadedmetadata', seeked: 'seeked', at: 27, played: true });
      await untilStored(driver, video, VIDEO.length);
      const requestsBefore = proxy.mediaRequests;
      await page.reload();
      await page.waitForFunction(() => (window as any).ready === true);
      await register(page, { homeserverUrl: proxy.url, accessToken: token });
      expect(await driver.run(PLAY_AND_SEEK, { src, at: 0.9 })).toEqual({ loaded: 'loadedmetadata', seeked: 'seeked', at: 27, played: true });
      expect(proxy.mediaRequests).toBe(requestsBefore);
      test.info().annotations.push({ type: 'note', description: `Synapse sent ${proxy.mediaBytes} bytes for a ${VIDEO.length}-byte video` });
      expect(proxy.mediaBytes).toBeLessThanOrEqual(VIDEO.length * 1.05);
    } finally {
      await proxy.close();
    }
  });

  for (const form of ['the homeserver URL', 'mediaUrl()'] as const) {
    test(`the video plays and seeks by ${form} with crossorigin="anonymous": Synapse ignores Range, the worker answers 206`, async ({ page, app, synapse }) => {
      const token = await synapse.register(`u${Date.now()}`, 'pw');
      const video = await upload(synapse, token, VIDEO, 'video/webm', 'clip.webm');
      await signedIn(page, app.url, synapse.url, token);
      const src = form === 'mediaUrl()' ? await page.evaluate((m) => (window as any).handles[0].mediaUrl(m), video) : legacyUrl(synapse, video);
      const from = synapseRequests(synapse).length;
      // The worker's own reports show what the element received.
      await page.evaluate(async () => {
        (window as any).reports = [];
        await (window as any).handles[0].onDiagnostic((entry: unknown) => (window as any).reports.push(entry));
      });
      const result = await page.evaluate(
        async ({ src }) => {
          const v = document.createElement('video');
          v.muted = true;
          v.crossOrigin = 'anonymous';
          document.body.append(v);
          await new Promise((ok, fail) => {
            v.addEventListener('loadedmetadata', ok, { once: true });
            v.addEventListener('error', () => fail(new Error(`video error ${v.error?.code}: ${v.error?.message}`)), { once: true });
            v.src = src;
          });
          await v.play();
          const seeked = new Promise((r) => v.addEventListener('seeked', r, { once: true }));
          v.currentTime = 25;
          await seeked;
          const at = v.currentTime;
          await new Promise((r) => setTimeout(r, 700));
          return { duration: v.duration, at, advancing: v.currentTime > at };
        },
        { src },
      );
      expect(result.duration).toBeCloseTo(30, 0);
      expect(result.at).toBeGreaterThanOrEqual(24.5);
      expect(result.advancing).toBe(true);
      // Synapse answered every ranged read with the whole file (200), yet the element got 206s:
      // the worker cut the ranges out itself.
      await expect.poll(() => mediaLog(synapse, from).length).toBeGreaterThan(0);
      expect(mediaLog(synapse, from).every((r) => r.status === 200 && r.user !== null)).toBe(true);
      // A request that joined another's download asked nothing upstream itself (upstreamUrl null).
      const reports = (await page.evaluate(() => (window as any).reports)) as Array<{ status: number; upstreamUrl: string | null }>;
      expect(reports.some((r) => r.status === 206 && r.upstreamUrl?.includes('/_matrix/client/v1/media/download/'))).toBe(true);
    });
  }

  test('mediaUrl downloads keep their file names (Synapse does not expose Content-Disposition to the worker)', async ({ page, app, synapse }) => {
    const token = await synapse.register(`u${Date.now()}`, 'pw');
    const pdf = await upload(synapse, token, Buffer.from('%PDF-1.4\n%%EOF\n'), 'application/pdf', 'report.pdf');
    const svg = await upload(synapse, token, Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'), 'image/svg+xml', 'logo.svg');
    await signedIn(page, app.url, synapse.url, token);
    const headers = (mxc: string, filename: string) =>
      page.evaluate(
        async ({ mxc, filename }) => {
          const res = await fetch((window as any).handles[0].mediaUrl(mxc, { filename }));
          return { status: res.status, disposition: res.headers.get('content-disposition'), type: res.headers.get('content-type'), csp: res.headers.get('content-security-policy') };
        },
        { mxc, filename },
      );
    expect(await headers(pdf, 'Quarterly report.pdf')).toEqual({
      status: 200,
      disposition: `attachment; filename="Quarterly report.pdf"; filename*=UTF-8''Quarterly%20report.pdf`,
      type: 'application/pdf',
      csp: expect.stringMatching(/^sandbox;/),
    });
    expect(await headers(svg, 'logo.svg')).toMatchObject({ status: 200, disposition: expect.stringMatching(/^attachment; filename="logo.svg"/) });
  });

  test("a second user's token never appears on the first user's requests", async ({ context, app, synapse }) => {
    const tokens = [await synapse.register(`a${Date.now()}`, 'pw'), await synapse.register(`b${Date.now()}`, 'pw')];
    const users = await Promise.all(tokens.map((t) => whoami(synapse, t)));
    const pages = [await context.newPage(), await context.newPage()];
    for (const [i, page] of pages.entries()) await signedIn(page, app.url, synapse.url, tokens[i]!);
    const media = await Promise.all(tokens.map(async (t, i) => upload(synapse, t, await samplePhoto(120, 90, 10 + i, 'png'), 'image/png', `${i}.png`)));

    for (let round = 0; round < 2; round++) {
      for (const [i, page] of pages.entries()) {
        const from = synapseRequests(synapse).length;
        // Each tab shows both users' media (a shared room): whose token goes out depends on the
        // tab. A query per tab and round keeps the shared HTTP cache from answering instead.
        for (const mxc of media) expect((await loadImage(page, `${legacyUrl(synapse, mxc)}?round=${round}&tab=${i}`)).ok).toBe(true);
        await expect.poll(() => mediaLog(synapse, from).map((r) => r.user)).toEqual([users[i], users[i]]);
      }
    }
  });

  test('sign-out stops media', async ({ page, app, synapse }) => {
    const token = await synapse.register(`u${Date.now()}`, 'pw');
    await signedIn(page, app.url, synapse.url, token);
    const before = await upload(synapse, token, await samplePhoto(50, 50, 20, 'png'), 'image/png', 'before.png');
    expect((await loadImage(page, legacyUrl(synapse, before))).ok).toBe(true);
    await page.evaluate(() => (window as any).handles[0].signOut());
    const after = await upload(synapse, token, await samplePhoto(50, 50, 21, 'png'), 'image/png', 'after.png');
    const from = synapseRequests(synapse).length;
    expect((await loadImage(page, legacyUrl(synapse, after))).ok).toBe(false);
    await expect.poll(() => mediaLog(synapse, from).map((r) => [r.user, r.status])).toEqual([[null, 404]]);
  });

  test('an expired token is refreshed through refreshAccessToken once for a burst, and every image loads', async ({ page, app, synapse }) => {
    test.setTimeout(90_000);
    const username = `r${Date.now()}`;
    const setupToken = await synapse.register(username, 'pw');
    const media = await Promise.all(
      Array.from({ length: 6 }, async (_, i) => upload(synapse, setupToken, await samplePhoto(64, 48, 30 + i, 'png'), 'image/png', `${i}.png`)),
    );
    const login = (await (
      await fetch(`${synapse.url}/_matrix/client/v3/login`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ type: 'm.login.password', identifier: { type: 'm.id.user', user: username }, password: 'pw', refresh_token: true }),
      })
    ).json()) as { access_token: string; refresh_token: string; expires_in_ms: number };
    expect(login.expires_in_ms).toBeGreaterThan(REFRESHABLE_TOKEN_LIFETIME_MS - 1000);
    expect(login.expires_in_ms).toBeLessThanOrEqual(REFRESHABLE_TOKEN_LIFETIME_MS);

    await openAppPage(page, app.url);
    const registered = await page.evaluate(
      ({ hs, access, refresh }) => (window as any).registerWithRefresh(hs, access, refresh),
      { hs: synapse.url, access: login.access_token, refresh: login.refresh_token },
    );
    expect(registered).toMatchObject({ ok: true });
    expect((await loadImage(page, legacyUrl(synapse, media[0]!))).ok).toBe(true);

    // Wait the token out, for real.
    await page.waitForTimeout(REFRESHABLE_TOKEN_LIFETIME_MS + 1000);
    const from = synapseRequests(synapse).length;
    const results = await page.evaluate(
      (urls) => Promise.all(urls.map((u) => (window as any).loadImage(u))),
      media.slice(1).map((m) => legacyUrl(synapse, m)),
    );
    expect(results.every((r: { ok: boolean }) => r.ok)).toBe(true);
    expect(await page.evaluate(() => (window as any).refreshCount)).toBe(1);
    await expect.poll(() => mediaLog(synapse, from).filter((r) => r.status === 200).length).toBe(5);
    const after = synapseRequests(synapse).slice(from);
    expect(after.filter((r) => r.method === 'POST' && r.path === '/_matrix/client/v3/refresh')).toHaveLength(1);
    // Each image was refused once with the expired token (401), then served: retried once, not more.
    const gets = after.filter((r) => r.method === 'GET' && r.path.includes('/media/'));
    expect(gets.filter((r) => r.status === 401).length).toBeLessThanOrEqual(5);
  });
});
