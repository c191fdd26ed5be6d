import assert from 'node:assert/strict';
import { samplePng } from '../../../demo/homeserver/png.js';
import type { Homeserver } from '../../../demo/homeserver/server.js';
import type { PageDriver } from '../driver.js';
import { encryptedUrl, uploadEncrypted } from '../encrypted.js';
import { PLAY_AND_SEEK, VIDEO } from '../store.js';
import { legacy, loadAll, loadImage, mediaGets, register, responsive, type ReliabilityGroup, type ReliabilityScenario } from './env.js';

// Faults survived: each scenario injects one (and says so to the report) and checks what the
// user sees and what the homeserver received.

async function loginWithRefresh(homeserver: Homeserver, user: string): Promise<{ access_token: string; refresh_token: string }> {
  homeserver.accounts.register(user, 'pw');
  const response = await fetch(`${homeserver.url}/_matrix/client/v3/login`, {
    method: 'POST',
    body: JSON.stringify({ type: 'm.login.password', identifier: { type: 'm.id.user', user }, password: 'pw', refresh_token: true }),
  });
  return (await response.json()) as { access_token: string; refresh_token: string };
}

/** Status and JSON body of `url` fetched by the page: what the element got, readable. */
const fetchJson = (d: PageDriver, url: string) =>
  d.run<{ status: number; body: Record<string, unknown> }>('const res = await fetch(args); return { status: res.status, body: await res.json() };', url);

/** Counts the worker's messages to the page (token requests), from now on. */
const countAsks = (d: PageDriver) => d.run("window.asked = 0; navigator.serviceWorker.addEventListener('message', () => window.asked++);");
const asked = (d: PageDriver) => d.run<number>('return window.asked;');

const refreshFails: ReliabilityScenario[] = (['null', 'throw'] as const).map((mode) => ({
  title: `the token expires and refreshAccessToken ${mode === 'null' ? 'returns null' : 'throws'}: images fail with the homeserver's error, nothing loops`,
  async run({ driver: d, homeserver, faults }) {
    homeserver.accounts.accessTokenLifetimeMs = 60_000;
    const login = await loginWithRefresh(homeserver, 'alice');
    await d.run('return window.registerWithRefresh(args.hs, args.access, args.refresh, args.mode);', {
      hs: homeserver.url,
      access: login.access_token,
      refresh: login.refresh_token,
      mode,
    });
    homeserver.accounts.expireAccessTokens();
    faults.inject(`refresh ${mode}`);
    const from = homeserver.log.length;
    const urls = Array.from({ length: 10 }, (_, i) => legacy(homeserver, homeserver.addMedia(samplePng(3, 3, i), 'image/png')));
    assert.equal((await loadAll(d, urls)).filter((r) => r.ok).length, 0);
    const error = await fetchJson(d, urls[0]!);
    assert.equal(error.status, 401);
    assert.deepEqual([error.body.errcode, error.body.soft_logout], ['M_UNKNOWN_TOKEN', true]);
    // One request per image (and one for the fetch): refused, not retried, not looped.
    assert.equal(mediaGets(homeserver, from).length, 11);
    // The page was asked once: a token it could not replace is not asked about again.
    assert.equal(await d.run('return window.refreshCount;'), 1);
  },
}));

const passedBack: ReliabilityScenario[] = ([[500, 'M_UNKNOWN'], [404, 'M_NOT_FOUND']] as const).map(([status, errcode]) => ({
  title: `${status} goes back to the element unchanged`,
  async run({ driver: d, homeserver, faults }) {
    const token = homeserver.register('alice', 'pw');
    await register(d, { homeserverUrl: homeserver.url, accessToken: token });
    const mxc = status === 404 ? `mxc://${homeserver.serverName}/doesnotexist` : homeserver.addMedia(samplePng(4, 4), 'image/png');
    if (status === 500) Object.assign(homeserver.config, { failNext: 2, failStatus: 500 });
    faults.inject(`${status} ${errcode}`);
    const from = homeserver.log.length;
    assert.equal((await loadImage(d, legacy(homeserver, mxc))).ok, false);
    const seen = await fetchJson(d, legacy(homeserver, mxc));
    assert.deepEqual([seen.status, seen.body.errcode], [status, errcode]);
    assert.equal(mediaGets(homeserver, from).length, 2);
  },
}));

export const faults: ReliabilityGroup = {
  title: 'faults survived',
  scenarios: [
    {
      title: 'the worker is stopped mid-session: the next media loads with the token from storage, without the page',
      needs: ['stopWorkers'],
      async run({ driver: d, homeserver, faults }) {
        const token = homeserver.register('alice', 'pw');
        await register(d, { homeserverUrl: homeserver.url, accessToken: token });
        assert.equal((await loadImage(d, legacy(homeserver, homeserver.addMedia(samplePng(4, 4, 1), 'image/png')))).ok, true);
        await countAsks(d);
        await d.stopWorkers!();
        faults.inject('worker stopped');
        const from = homeserver.log.length;
        const urls = [1, 2, 3].map((i) => legacy(homeserver, homeserver.addMedia(samplePng(4, 4, 10 + i), 'image/png')));
        assert.ok((await loadAll(d, urls)).every((r) => r.ok));
        assert.deepEqual(mediaGets(homeserver, from).map((r) => r.authorization), Array(3).fill(`Bearer ${token}`));
        assert.equal(await asked(d), 0);
        // Proof that it was a new worker: what the old one kept in memory only (/versions) was asked again.
        assert.equal(homeserver.log.slice(from).filter((r) => r.path === '/_matrix/client/versions').length, 1);
      },
    },
    {
      title: "the worker is stopped holding an encrypted image's key in memory only: it asks the page for the key again, and shows the image",
      needs: ['stopWorkers'],
      async run({ driver: d, homeserver, faults }) {
        const token = homeserver.register('alice', 'pw');
        await register(d, { homeserverUrl: homeserver.url, accessToken: token });
        const image = await uploadEncrypted(homeserver, samplePng(30, 20, 5));
        const url = await encryptedUrl(d, image.file, { mimetype: 'image/png' });
        assert.deepEqual(await loadImage(d, url), { ok: true, width: 30, height: 20 });
        await d.run("window.keyRequests = 0; navigator.serviceWorker.addEventListener('message', (event) => { if (event.data?.type === 'mms/key-request') window.keyRequests++; });");
        await d.stopWorkers!();
        faults.inject('worker stopped holding a key');
        // A fresh URL for a fresh element: the browser's memory cache must not answer for the worker.
        assert.deepEqual(await loadImage(d, `${url}?again`), { ok: true, width: 30, height: 20 });
        assert.equal(await d.run<number>('return fetch(args).then((r) => r.status);', url), 200);
        // Proof that it was a new worker: the old one had the key, and only memory ever held it.
        assert.equal(await d.run<number>('return window.keyRequests;'), 1);
        const keyMaterial = [image.file.key.k, image.file.iv, encodeURIComponent(image.file.iv)];
        assert.deepEqual(homeserver.log.filter((r) => keyMaterial.some((secret) => r.path.includes(secret))), [], 'no key material in any request');
      },
    },
    {
      title: 'the worker updates while a video plays: playback goes on, and new media goes through the new version',
      async run({ driver: d, app, homeserver, faults }) {
        const token = homeserver.register('alice', 'pw');
        await register(d, { homeserverUrl: homeserver.url, accessToken: token });
        const src = legacy(homeserver, homeserver.addMedia(VIDEO, 'video/webm', 'clip.webm'));
        const before = await d.run(async (src: string) => {
          const v = document.createElement('video');
          v.muted = true;
          v.crossOrigin = 'anonymous';
          v.id = 'playing';
          document.body.append(v);
          v.src = src;
          await v.play();
          return v.currentTime;
        }, src);
        app.workerBuild += 1;
        faults.inject('worker update during playback');
        // One script: WebDriver runs one at a time, so the wait for the new controller cannot be a second one.
        const taken = await d.run(async () => {
          const changed = new Promise<boolean>((r) => {
            navigator.serviceWorker.addEventListener('controllerchange', () => r(true), { once: true });
            setTimeout(() => r(false), 15_000);
          });
          await (await navigator.serviceWorker.getRegistration())!.update();
          return changed;
        });
        assert.equal(taken, true);
        await new Promise((r) => setTimeout(r, 1500));
        const after = await d.run(() => {
          const v = document.getElementById('playing') as HTMLVideoElement;
          return { time: v.currentTime, paused: v.paused, error: v.error?.code ?? null };
        });
        assert.deepEqual([after.paused, after.error], [false, null]);
        assert.ok(after.time > before + 0.5, `played on from ${before} to ${after.time}`);
        // The old worker is gone (redundant): this image can only have gone through the new one.
        const from = homeserver.log.length;
        assert.equal((await loadImage(d, legacy(homeserver, homeserver.addMedia(samplePng(4, 4, 2), 'image/png')))).ok, true);
        assert.deepEqual(mediaGets(homeserver, from).map((r) => r.authorization), [`Bearer ${token}`]);
      },
    },
    {
      title: 'a video plays and seeks through the worker (crossorigin), against a server that ignores Range',
      async run({ driver: d, homeserver }) {
        homeserver.config.rangeSupport = false;
        const token = homeserver.register('alice', 'pw');
        await register(d, { homeserverUrl: homeserver.url, accessToken: token });
        const src = legacy(homeserver, homeserver.addMedia(VIDEO, 'video/webm', 'clip.webm'));
        // The 30 s clip, sought to 25 s, and playing on from there.
        assert.deepEqual(await d.run(PLAY_AND_SEEK, { src, at: 25 / 30 }), { loaded: 'loadedmetadata', seeked: 'seeked', at: 25, played: true });
        assert.ok(mediaGets(homeserver).every((r) => r.authorization === `Bearer ${token}` && r.status === 200));
      },
    },
    {
      title: 'the token expires: a burst of 50 failing images makes one refresh, each retried once, and all load',
      async run({ driver: d, homeserver, faults }) {
        homeserver.config.accessTokenLifetimeMs = 60_000;
        homeserver.accounts.accessTokenLifetimeMs = 60_000;
        const login = await loginWithRefresh(homeserver, 'alice');
        const registered = await d.run<{ ok: boolean }>('return window.registerWithRefresh(args.hs, args.access, args.refresh);', {
          hs: homeserver.url,
          access: login.access_token,
          refresh: login.refresh_token,
        });
        assert.equal(registered.ok, true);
        homeserver.accounts.expireAccessTokens();
        faults.inject('access token expired');
        const from = homeserver.log.length;
        const urls = Array.from({ length: 50 }, (_, i) => legacy(homeserver, homeserver.addMedia(samplePng(3, 3, i), 'image/png')));
        assert.equal((await loadAll(d, urls)).filter((r) => r.ok).length, 50);
        assert.equal(await d.run('return window.refreshCount;'), 1);
        const gets = mediaGets(homeserver, from);
        assert.equal(gets.filter((r) => r.status === 200).length, 50);
        // Each image at most twice: once refused, once retried.
        const perImage = new Map<string, number>();
        for (const r of gets) perImage.set(r.path, (perImage.get(r.path) ?? 0) + 1);
        assert.ok(Math.max(...perImage.values()) <= 2);
        assert.equal(homeserver.log.slice(from).filter((r) => r.method === 'POST' && r.path === '/_matrix/client/v3/refresh').length, 1);
      },
    },
    ...refreshFails,
    {
      title: '429 with retry_after_ms is retried after that delay, within a bound',
      async run({ driver: d, homeserver, faults }) {
        const token = homeserver.register('alice', 'pw');
        await register(d, { homeserverUrl: homeserver.url, accessToken: token });
        Object.assign(homeserver.config, { rateLimitNext: 1, retryAfterMs: 800 });
        faults.inject('429 M_LIMIT_EXCEEDED');
        const from = homeserver.log.length;
        assert.equal((await loadImage(d, legacy(homeserver, homeserver.addMedia(samplePng(4, 4), 'image/png')))).ok, true);
        const gets = mediaGets(homeserver, from);
        assert.deepEqual(gets.map((r) => r.status), [429, 200]);
        // The server's log: when the retry came, not a timing of ours.
        assert.ok(gets[1]!.time - gets[0]!.time >= 750);
        // A wait longer than the worker's bound is not waited out: the element gets the 429.
        Object.assign(homeserver.config, { rateLimitNext: 1, retryAfterMs: 60_000 });
        faults.inject('429 with a minute to wait');
        const status = await d.run('return (await fetch(args)).status;', legacy(homeserver, homeserver.addMedia(samplePng(4, 4, 1), 'image/png')));
        assert.equal(status, 429);
      },
    },
    {
      title: '504 M_NOT_YET_UPLOADED is retried while timeout_ms allows, and the media loads once uploaded',
      async run({ driver: d, homeserver, faults }) {
        const token = homeserver.register('alice', 'pw');
        await register(d, { homeserverUrl: homeserver.url, accessToken: token });
        // The server gives up on waiting after 300 ms, long before the client's 10 s.
        homeserver.config.maxUploadWaitMs = 300;
        const created = (await (await fetch(`${homeserver.url}/_matrix/media/v1/create`, { method: 'POST', headers: { Authorization: `Bearer ${token}` } })).json()) as {
          content_uri: string;
        };
        faults.inject('504 M_NOT_YET_UPLOADED');
        const from = homeserver.log.length;
        const loading = loadImage(d, `${legacy(homeserver, created.content_uri)}?timeout_ms=10000`);
        await new Promise((r) => setTimeout(r, 1500));
        const put = await fetch(`${homeserver.url}/_matrix/media/v3/upload/${created.content_uri.slice(6)}`, {
          method: 'PUT',
          headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'image/png' },
          body: new Uint8Array(samplePng(9, 9)),
        });
        assert.equal(put.status, 200);
        assert.deepEqual(await loading, { ok: true, width: 9, height: 9 });
        const statuses = mediaGets(homeserver, from).map((r) => r.status);
        assert.ok(statuses.filter((s) => s === 504).length >= 2, JSON.stringify(statuses));
        assert.equal(statuses.at(-1), 200);
      },
    },
    ...passedBack,
    {
      title: 'the homeserver is down: the element gets an error at once, and the page stays responsive',
      async run({ driver: d, homeserver, faults }) {
        const token = homeserver.register('alice', 'pw');
        await register(d, { homeserverUrl: homeserver.url, accessToken: token });
        const url = legacy(homeserver, homeserver.addMedia(samplePng(4, 4), 'image/png'));
        await homeserver.close();
        faults.inject('homeserver down');
        assert.equal((await loadImage(d, url)).ok, false);
        assert.equal(await responsive(d), 42);
      },
    },
    {
      title: 'the homeserver hangs: the element gets an error within 40 s, never a request that hangs for ever, and the page stays responsive',
      timeoutMs: 90_000,
      async run({ driver: d, homeserver, faults }) {
        const token = homeserver.register('alice', 'pw');
        await register(d, { homeserverUrl: homeserver.url, accessToken: token });
        const url = legacy(homeserver, homeserver.addMedia(samplePng(4, 4), 'image/png'));
        homeserver.config.hang = true;
        faults.inject('homeserver hangs');
        // In the page, so that the page can answer while the image hangs (WebDriver runs one script at a time).
        const result = await d.run(async (url: string) => {
          const loading = (window as any).loadImage(url);
          const answered = await Promise.race([new Promise((r) => setTimeout(() => r(6 * 7), 0)), loading.then(() => 'the image settled first')]);
          const settled = await Promise.race([loading, new Promise((r) => setTimeout(() => r('still waiting'), 40_000))]);
          return { answered, settled };
        }, url);
        assert.deepEqual(result, { answered: 42, settled: { ok: false, width: 0, height: 0 } });
      },
    },
    {
      title: '/versions fails once, then works: the failure is not remembered',
      async run({ driver: d, homeserver, faults }) {
        const token = homeserver.register('alice', 'pw');
        homeserver.config.failVersionsNext = 1;
        faults.inject('/versions 500');
        await register(d, { homeserverUrl: homeserver.url, accessToken: token });
        for (const seed of [1, 2]) assert.equal((await loadImage(d, legacy(homeserver, homeserver.addMedia(samplePng(4, 4, seed), 'image/png')))).ok, true);
        assert.deepEqual(homeserver.log.filter((r) => r.path === '/_matrix/client/versions').map((r) => r.status), [500, 200]);
        assert.ok(mediaGets(homeserver).every((r) => r.authorization === `Bearer ${token}`));
      },
    },
    {
      title: '500 different images at once all load, with one /versions request and no token lookups from the page',
      timeoutMs: 120_000,
      async run({ driver: d, homeserver }) {
        const token = homeserver.register('alice', 'pw');
        await register(d, { homeserverUrl: homeserver.url, accessToken: token });
        await countAsks(d);
        const urls = Array.from({ length: 500 }, (_, i) => legacy(homeserver, homeserver.addMedia(samplePng(2, 2, i), 'image/png')));
        assert.equal((await loadAll(d, urls)).filter((r) => r.ok).length, 500);
        assert.equal(homeserver.log.filter((r) => r.path === '/_matrix/client/versions').length, 1);
        assert.equal(mediaGets(homeserver).filter((r) => r.status === 200 && r.authorization === `Bearer ${token}`).length, 500);
        assert.equal(await asked(d), 0);
      },
    },
  ],
};
