import assert from 'node:assert/strict';
import sharp from 'sharp';
import { samplePhoto } from '../../demo/homeserver/samples.js';
import type { AppServer } from '../browser/appServer.js';
import { tokenFingerprint, type CountingProxy } from '../countingProxy.js';
import type { Dendrite } from '../dendrite/dendrite.js';
import type { PageDriver } from './driver.js';
import { PLAY_AND_SEEK, untilStored, VIDEO } from './store.js';

/**
 * The add-on against Dendrite, the second real homeserver (tests/dendrite/dendrite.ts), written
 * once for every engine. The page talks to Dendrite through a proxy that logs what the browser
 * sent and counts media bytes. Each scenario runs twice: with Dendrite answering the CORS
 * preflight of its authenticated media itself (401 without CORS headers, so no browser can send
 * a token there: the worker must fall back to the legacy endpoint, without a token, and be never
 * worse than no worker), and with the proxy answering preflights, as a deployment whose reverse
 * proxy handles CORS does (then the token goes to /_matrix/client/v1/media and legacy is unused).
 */

export interface DendriteEnv {
  driver: PageDriver;
  app: AppServer;
  dendrite: Dendrite;
  proxy: CountingProxy;
  /** True when the proxy answers preflights (the authenticated path works). */
  preflightAnswered: boolean;
}

export interface DendriteScenario {
  title: string;
  run(env: DendriteEnv): Promise<void>;
}

// Dendrite refuses passwords under 8 characters.
const PASSWORD = 'password-1';
let users = 0;
const newUser = async (dendrite: Dendrite) => {
  const name = `user${Date.now()}x${++users}`;
  return { name, token: await dendrite.register(name, PASSWORD) };
};

// Each upload a picture of its own: Dendrite stores identical bytes once, and a second media ID
// for them never gets thumbnails (its thumbnail requests get the original).
let seed = Math.floor(Math.random() * 1e6);
const nextSeed = () => ++seed;

const REGISTER = 'const r = await window.register(args); if (!r.ok) throw new Error(r.message); return r.sessionId;';
const signIn = (d: PageDriver, proxy: CountingProxy, token: string) => d.run<string>(REGISTER, { homeserverUrl: proxy.url, accessToken: token });
const loadImage = (d: PageDriver, url: string) => d.run<{ ok: boolean; width: number; height: number }>('return window.loadImage(args);', url);
const legacyUrl = (proxy: CountingProxy, mxc: string, endpoint = 'download') => `${proxy.url}/_matrix/media/v3/${endpoint}/${mxc.slice(6)}`;

/**
 * Waits until Dendrite has generated the thumbnails of `mxc` at `sizes`: right after an upload it
 * answers a thumbnail request with the original image until its generator is done, with or
 * without a worker. Asked from Node, without a token, on the legacy endpoint it serves to anyone.
 */
async function thumbnailsMade(dendrite: Dendrite, mxc: string, sizes: Array<[number, number, 'crop' | 'scale']>): Promise<void> {
  for (const [width, height, method] of sizes) {
    for (let i = 0; ; i++) {
      const response = await fetch(`${dendrite.url}/_matrix/media/v3/thumbnail/${mxc.slice(6)}?width=${width}&height=${height}&method=${method}`);
      const { width: w, height: h } = await sharp(Buffer.from(await response.arrayBuffer())).metadata();
      if (w === width && h === height) break;
      if (i > 100) assert.fail(`Dendrite never made the ${width}×${height} thumbnail (it answers ${w}×${h})`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

const isMedia = (path: string) => /^\/_matrix\/(media\/(r0|v1|v3)|client\/v1\/media)\/(download|thumbnail)\//.test(path);
const isLegacy = (path: string) => /^\/_matrix\/media\//.test(path);

/** What went to Dendrite for media since log entry `from`: GETs, and preflights asking to send Authorization. */
function mediaTraffic(proxy: CountingProxy, from: number) {
  const entries = proxy.log.slice(from).filter((r) => isMedia(r.path));
  return {
    gets: entries.filter((r) => r.method === 'GET'),
    tokenPreflights: entries.filter((r) => r.method === 'OPTIONS' && (r.preflightFor ?? '').includes('authorization')),
  };
}

/**
 * The path the mode says media takes: with the preflight answered, v1 with the user's token and
 * no legacy request; with Dendrite's own preflight, legacy without a token (what the page would
 * have loaded without a worker), after at most `failedPreflights` refused preflights.
 */
function assertPath(env: DendriteEnv, from: number, token: string, failedPreflights = 2): void {
  const { gets, tokenPreflights } = mediaTraffic(env.proxy, from);
  assert.ok(gets.length > 0, 'media was requested');
  if (env.preflightAnswered) {
    assert.deepEqual(gets.filter((r) => isLegacy(r.path)), [], 'no legacy request when the token can be sent');
    assert.deepEqual([...new Set(gets.map((r) => r.token))], [tokenFingerprint(token)], 'every media request carries the token');
  } else {
    assert.deepEqual(gets.filter((r) => !isLegacy(r.path) || r.token !== null || r.status !== 200).map((r) => [r.path, r.token, r.status]), [], 'legacy, without a token, and served');
    assert.ok(tokenPreflights.length <= failedPreflights, `${tokenPreflights.length} preflights for the token: the refusal is remembered`);
  }
}

export const dendriteScenarios: DendriteScenario[] = [
  {
    title: 'thumbnails at their sizes and a full download, through legacy URLs',
    async run(env) {
      const { driver: d, dendrite, proxy } = env;
      const { token } = await newUser(dendrite);
      const photo = await dendrite.upload(token, await samplePhoto(800, 600, nextSeed(), 'jpeg'), 'image/jpeg', 'photo.jpg');
      await thumbnailsMade(dendrite, photo, [[96, 96, 'crop'], [640, 480, 'scale']]);
      await signIn(d, proxy, token);
      const from = proxy.log.length;
      assert.deepEqual(await loadImage(d, `${legacyUrl(proxy, photo, 'thumbnail')}?width=96&height=96&method=crop`), { ok: true, width: 96, height: 96 });
      assert.deepEqual(await loadImage(d, `${legacyUrl(proxy, photo, 'thumbnail')}?width=640&height=480&method=scale`), { ok: true, width: 640, height: 480 });
      assert.deepEqual(await loadImage(d, legacyUrl(proxy, photo)), { ok: true, width: 800, height: 600 });
      assertPath(env, from, token);
    },
  },
  {
    title: 'thumbnails at their sizes and a full download, through mediaUrl',
    async run(env) {
      const { driver: d, dendrite, proxy } = env;
      const { token } = await newUser(dendrite);
      const photo = await dendrite.upload(token, await samplePhoto(800, 600, nextSeed(), 'jpeg'), 'image/jpeg', 'photo.jpg');
      await thumbnailsMade(dendrite, photo, [[32, 32, 'crop'], [640, 480, 'scale']]);
      await signIn(d, proxy, token);
      const from = proxy.log.length;
      const url = (options: Record<string, unknown>) => d.run<string>('return window.handles[0].mediaUrl(args.mxc, args.options);', { mxc: photo, options });
      assert.deepEqual(await loadImage(d, await url({ width: 32, height: 32, method: 'crop' })), { ok: true, width: 32, height: 32 });
      assert.deepEqual(await loadImage(d, await url({ width: 640, height: 480, method: 'scale' })), { ok: true, width: 640, height: 480 });
      assert.deepEqual(await loadImage(d, await url({ filename: 'holiday.jpg' })), { ok: true, width: 800, height: 600 });
      assertPath(env, from, token);
    },
  },
  {
    title: 'a video by its legacy URL plays, seeks to 90 % and replays after a reload, each byte crossing the network once',
    async run(env) {
      const { driver: d, dendrite, proxy } = env;
      const { token } = await newUser(dendrite);
      const video = await dendrite.upload(token, VIDEO, 'video/webm', 'clip.webm');
      await signIn(d, proxy, token);
      const from = proxy.log.length;
      const bytesBefore = proxy.mediaBytes;
      const src = legacyUrl(proxy, video);
      assert.deepEqual(await d.run(PLAY_AND_SEEK, { src, at: 0.9 }), { loaded: 'loadedmetadata', seeked: 'seeked', at: 27, played: true });
      await untilStored(d, video, VIDEO.length);
      const requestsBefore = proxy.mediaRequests;
      await d.reload();
      await signIn(d, proxy, token);
      assert.deepEqual(await d.run(PLAY_AND_SEEK, { src, at: 0.9 }), { loaded: 'loadedmetadata', seeked: 'seeked', at: 27, played: true });
      assert.equal(proxy.mediaRequests, requestsBefore, 'the replay after the reload sends no request');
      const sent = proxy.mediaBytes - bytesBefore;
      assert.ok(sent <= VIDEO.length * 1.05, `Dendrite sent ${sent} bytes for a ${VIDEO.length}-byte video`);
      assertPath(env, from, token);
    },
  },
  {
    title: 'a stored video gone stale (storeMaxAgeMs 1 s) replays after a reload from the store, after one recheck Dendrite answers',
    async run(env) {
      const { driver: d, dendrite, proxy } = env;
      const { token } = await newUser(dendrite);
      const video = await dendrite.upload(token, VIDEO, 'video/webm', 'clip.webm');
      const register = () => d.run<string>(REGISTER, { homeserverUrl: proxy.url, accessToken: token, storeMaxAgeMs: 1_000 });
      await register();
      const src = legacyUrl(proxy, video);
      assert.deepEqual(await d.run(PLAY_AND_SEEK, { src, at: 0.9, unload: true }), { loaded: 'loadedmetadata', seeked: 'seeked', at: 27, played: true });
      await untilStored(d, video, VIDEO.length);
      await new Promise((r) => setTimeout(r, 1_200));
      const from = proxy.log.length;
      await d.reload();
      await register();
      assert.deepEqual(await d.run(PLAY_AND_SEEK, { src, at: 0.9, unload: true }), { loaded: 'loadedmetadata', seeked: 'seeked', at: 27, played: true });
      // The question (a HEAD; Dendrite answers it 405, so a GET whose body is cancelled at its
      // status) went to Dendrite, and the stored copy stayed: the file is still stored whole.
      const asked = proxy.log.slice(from).filter((r) => isMedia(r.path) && (r.method === 'HEAD' || r.method === 'GET'));
      assert.ok(asked.some((r) => r.method === 'HEAD'), `a HEAD asked whether Dendrite still serves the file: ${JSON.stringify(asked.map((r) => [r.method, r.status]))}`);
      await untilStored(d, video, VIDEO.length);
      // Each question took the path of the mode (a GET cancelled at its status may be logged
      // without one: its body was never read to the end).
      const wrongPath = asked.filter((r) => (env.preflightAnswered ? isLegacy(r.path) || r.token !== tokenFingerprint(token) : !isLegacy(r.path) || r.token !== null));
      assert.deepEqual(wrongPath.map((r) => [r.method, r.path, r.token]), [], env.preflightAnswered ? 'v1 with the token' : 'legacy, without a token');
    },
  },
  {
    title: 'an upload through the API shows at once',
    async run(env) {
      const { driver: d, dendrite, proxy } = env;
      const { token } = await newUser(dendrite);
      await signIn(d, proxy, token);
      const from = proxy.log.length;
      const mxc = await dendrite.upload(token, await samplePhoto(120, 90, nextSeed(), 'png'), 'image/png', 'new.png');
      assert.deepEqual(await loadImage(d, legacyUrl(proxy, mxc)), { ok: true, width: 120, height: 90 });
      assertPath(env, from, token);
    },
  },
  {
    title: 'sign-out stops media: no request with the token, nor a preflight for it, after it',
    async run(env) {
      const { driver: d, dendrite, proxy } = env;
      const { token } = await newUser(dendrite);
      const photo = await dendrite.upload(token, await samplePhoto(64, 48, nextSeed(), 'png'), 'image/png', 'a.png');
      await signIn(d, proxy, token);
      const url = await d.run<string>('return window.handles[0].mediaUrl(args);', photo);
      // A URL not shown before the sign-out: the browser's image cache would answer a shown one without a request.
      const later = await d.run<string>('return window.handles[0].mediaUrl(args, { filename: "later.png" });', photo);
      assert.equal((await loadImage(d, url)).ok, true);
      await d.run('await window.handles[0].signOut();');
      const from = proxy.log.length;
      assert.equal((await loadImage(d, later)).ok, false, "the signed-out session's mediaUrl shows nothing");
      // A legacy URL still loads as it would without a worker: Dendrite serves it to anyone.
      assert.equal((await loadImage(d, legacyUrl(proxy, photo))).ok, true);
      const after = proxy.log.slice(from);
      assert.deepEqual(after.filter((r) => r.token !== null || (r.preflightFor ?? '').includes('authorization')), [], 'nothing with or for the token');
    },
  },
  {
    title: "a second user's token never rides on the first user's requests",
    async run(env) {
      const { driver: alice, app, dendrite, proxy } = env;
      const a = await newUser(dendrite);
      const b = await newUser(dendrite);
      await signIn(alice, proxy, a.token);
      const bob = await alice.newTab(`${app.url}/index.html`);
      await signIn(bob, proxy, b.token);
      const own = async (d: PageDriver, token: string) => {
        const mxc = await dendrite.upload(token, await samplePhoto(40, 30, nextSeed(), 'png'), 'image/png', 'p.png');
        const from = proxy.log.length;
        assert.equal((await loadImage(d, await d.run<string>('return window.handles[0].mediaUrl(args);', mxc))).ok, true);
        return mediaTraffic(proxy, from).gets;
      };
      const alices = await own(alice, a.token);
      const bobs = await own(bob, b.token);
      const tokens = (gets: typeof alices) => [...new Set(gets.map((r) => r.token))];
      if (env.preflightAnswered) {
        assert.deepEqual([tokens(alices), tokens(bobs)], [[tokenFingerprint(a.token)], [tokenFingerprint(b.token)]]);
      } else {
        assert.deepEqual([tokens(alices), tokens(bobs)], [[null], [null]]);
      }
    },
  },
  {
    title: 'the token, or a preflight asking to send it, goes to nothing but /_matrix/client/*, never in a query string, never to another origin',
    async run(env) {
      const { driver: d, app, dendrite, proxy } = env;
      const { token } = await newUser(dendrite);
      const photo = await dendrite.upload(token, await samplePhoto(50, 50, nextSeed(), 'png'), 'image/png', 'c.png');
      const appRequests = app.log.length;
      await signIn(d, proxy, token);
      for (const url of [
        legacyUrl(proxy, photo),
        `${legacyUrl(proxy, photo, 'thumbnail')}?width=32&height=32&method=crop`,
        `${proxy.url}/_matrix/media/r0/download/${photo.slice(6)}`,
        `${proxy.url}/_matrix/client/v1/media/download/${photo.slice(6)}`,
        await d.run<string>('return window.handles[0].mediaUrl(args);', photo),
      ]) {
        assert.equal((await loadImage(d, url)).ok, true, url);
      }
      const carried = proxy.log.filter((r) => r.token !== null || (r.preflightFor ?? '').includes('authorization'));
      assert.ok(carried.length > 0, 'the token (or a preflight for it) was sent at least once');
      assert.deepEqual(carried.filter((r) => !r.path.startsWith('/_matrix/client/')).map((r) => r.path), []);
      assert.deepEqual(proxy.log.filter((r) => /access_token=/.test(r.path)).map((r) => r.path), []);
      // The app's own origin only ever served the page and the worker: no media request went there.
      assert.deepEqual(app.log.slice(appRequests).filter((path) => path.startsWith('/_matrix/')), []);
    },
  },
];
