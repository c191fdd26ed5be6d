import assert from 'node:assert/strict';
import { samplePhoto } from '../../demo/homeserver/samples.js';
import { tokenFingerprint, type CountingProxy } from '../countingProxy.js';
import type { ToxicLink } from '../toxiproxy.js';
import type { PageDriver } from './driver.js';
import { PLAY_AND_SEEK, untilStored, VIDEO } from './store.js';

/**
 * Real network faults between the browser and a real homeserver (Synapse, Dendrite), at moments
 * the test does not choose: the browser's homeserver origin is the counting proxy
 * (tests/countingProxy.ts), which logs every request and counts the bytes the browser received,
 * and behind it Toxiproxy (tests/toxiproxy.ts) injects the faults on the way to the server; a
 * fault there reaches the browser as a connection that breaks, stalls or is refused. No
 * Playwright routing, so CORS faults show. Written once for every engine.
 */

export interface RealServer {
  name: 'Synapse' | 'Dendrite';
  register(username: string, password: string): Promise<string>;
  upload(token: string, data: Buffer, contentType: string, fileName: string): Promise<string>;
}

export interface NetworkEnv {
  driver: PageDriver;
  server: RealServer;
  /** Where faults are injected: browser → counting proxy → Toxiproxy (this link) → server. */
  link: ToxicLink;
  /** The homeserver's origin as the browser knows it (the counting proxy's). */
  proxy: CountingProxy;
  /** True when the counting proxy answers CORS preflights (a reverse proxy that handles CORS). */
  preflightAnswered: boolean;
  /** A figure for the closing note (printed with the test's annotations). */
  note(text: string): void;
}

export interface NetworkScenario {
  title: string;
  /** Only against these servers; all when absent. */
  servers?: Array<RealServer['name']>;
  run(env: NetworkEnv): Promise<void>;
}

/** The bound docs/reliability.md states: every element gets an answer or an error within 40 s. */
export const ANSWER_BOUND_MS = 40_000;

let users = 0;
let seed = Math.floor(Math.random() * 1e6);

/** A new user (or the one of `existing`) signed in on the page, with the homeserver at the counting proxy's origin; returns the token. */
async function signIn(env: NetworkEnv, existing?: string): Promise<string> {
  const token = existing ?? (await env.server.register(`net${Date.now()}x${++users}`, 'password-1'));
  const result = await env.driver.run<{ ok: boolean; message?: string }>('return await window.register(args);', { homeserverUrl: env.proxy.url, accessToken: token });
  assert.ok(result.ok, result.message);
  return token;
}

/** A new picture (each its own bytes: Dendrite stores identical uploads once). */
const uploadPhoto = async (env: NetworkEnv, token: string, width = 64, height = 48) =>
  env.server.upload(token, await samplePhoto(width, height, ++seed, 'png'), 'image/png', 'photo.png');

/**
 * The same file under `count` URLs of its own (another file name each), as an app writes them:
 * legacy URLs, which the worker sends to v1 with the token where it can. Distinct URLs, so that
 * neither the browser's image cache nor the worker's store answers for another.
 */
const legacyUrls = (env: NetworkEnv, mxc: string, count: number, tag: string) =>
  Array.from({ length: count }, (_, i) => `${env.proxy.url}/_matrix/media/v3/download/${mxc.slice(6)}/${tag}${i}.png`);

interface Loaded {
  ok: boolean;
  width: number;
  /** Milliseconds from the start of its batch until it loaded or failed. */
  ms: number;
}

/** Starts loading `urls` as <img> elements and returns at once; `settle` waits for them. */
const startImages = (d: PageDriver, urls: string[]) =>
  d.run(
    `const started = performance.now();
     window.loads = args.map((src) => window.loadImage(src).then((r) => ({ ok: r.ok, width: r.width, ms: Math.round(performance.now() - started) })));`,
    urls,
  );
const settle = (d: PageDriver) => d.run<Loaded[]>('return await Promise.all(window.loads);');
const loadImages = async (d: PageDriver, urls: string[]) => {
  await startImages(d, urls);
  return settle(d);
};
const broken = (loads: Loaded[]) => loads.filter((l) => !l.ok).length;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const isMedia = (path: string) => /^\/_matrix\/(media\/(r0|v1|v3)|client\/v1\/media)\/(download|thumbnail)\//.test(path);
const isLegacy = (path: string) => path.startsWith('/_matrix/media/');

/** What reached the homeserver for media since log entry `from`. */
function traffic(proxy: CountingProxy, from: number) {
  const entries = proxy.log.slice(from).filter((r) => isMedia(r.path));
  return {
    gets: entries.filter((r) => r.method === 'GET'),
    legacyGets: entries.filter((r) => r.method === 'GET' && isLegacy(r.path)),
    tokenPreflights: entries.filter((r) => r.method === 'OPTIONS' && (r.preflightFor ?? '').includes('authorization')),
  };
}

/**
 * The path media must take after a fault, as before it: on Synapse (and on Dendrite with its
 * preflight answered) v1 with the user's token and nothing legacy; on Dendrite refusing the
 * preflight, legacy without a token.
 */
function assertPath(env: NetworkEnv, from: number, token: string, what: string): void {
  const { gets, legacyGets } = traffic(env.proxy, from);
  assert.ok(gets.length > 0, `${what}: media reached the homeserver`);
  if (env.server.name === 'Synapse' || env.preflightAnswered) {
    assert.deepEqual(legacyGets.map((r) => r.path), [], `${what}: nothing went to a legacy endpoint`);
    assert.deepEqual([...new Set(gets.map((r) => r.token))], [tokenFingerprint(token)], `${what}: every media request carried the token`);
  } else {
    assert.deepEqual(gets.filter((r) => !isLegacy(r.path) || r.token !== null).map((r) => r.path), [], `${what}: legacy, without a token`);
  }
}

export const networkFaultScenarios: NetworkScenario[] = [
  {
    title: 'a blip (reset_peer for a moment): at most the images loading during it fail; the 20 asked for afterwards load, on the path they took before',
    async run(env) {
      const { driver: d, link, proxy } = env;
      const token = await signIn(env);
      const mxc = await uploadPhoto(env, token);
      assert.equal((await loadImages(d, legacyUrls(env, mxc, 1, 'before')))[0]!.ok, true, 'the first image loads');
      const from = proxy.log.length;
      const reset = await link.add({ type: 'reset_peer', attributes: { timeout: 0 } });
      await startImages(d, legacyUrls(env, mxc, 4, 'during'));
      await sleep(400);
      await link.remove(reset);
      const during = await settle(d);
      const after = await loadImages(d, legacyUrls(env, mxc, 20, 'after'));
      env.note(`images broken during the blip: ${broken(during)}/4; after it: ${broken(after)}/20`);
      assert.equal(broken(after), 0, `${broken(after)} of 20 images asked for after the blip failed`);
      assertPath(env, from, token, 'during and after the blip');
    },
  },
  {
    title: 'a black hole (timeout) of 4 s from the first request: every image gets an answer within the stated bound, and nothing stays on a path chosen during it',
    async run(env) {
      const { driver: d, link, proxy } = env;
      const token = await signIn(env);
      const mxc = await uploadPhoto(env, token);
      const from = proxy.log.length;
      // Data stops, and Toxiproxy closes each connection after 4 s, as a NAT that drops them does.
      const hole = await link.add({ type: 'timeout', attributes: { timeout: 4_000 } });
      await startImages(d, legacyUrls(env, mxc, 3, 'during'));
      await sleep(4_000);
      await link.remove(hole);
      const during = await settle(d);
      const slowest = Math.max(...during.map((l) => l.ms));
      assert.ok(slowest <= ANSWER_BOUND_MS, `an image waited ${slowest} ms, past the ${ANSWER_BOUND_MS} ms bound`);
      const after = await loadImages(d, legacyUrls(env, mxc, 10, 'after'));
      env.note(`images broken during the black hole: ${broken(during)}/3 (slowest answer ${slowest} ms); after it: ${broken(after)}/10`);
      assert.equal(broken(after), 0, `${broken(after)} of 10 images asked for after the black hole failed`);
      assertPath(env, from, token, 'during and after the black hole');
    },
  },
  {
    title: 'latency of 300 ms with jitter: a gallery of 100 images loads with one verdict for the homeserver',
    async run(env) {
      const { driver: d, link, proxy } = env;
      const token = await signIn(env);
      const mxc = await uploadPhoto(env, token, 32, 32);
      const from = proxy.log.length;
      await link.add({ type: 'latency', attributes: { latency: 300, jitter: 100 } });
      const gallery = await loadImages(d, legacyUrls(env, mxc, 100, 'g'));
      const { tokenPreflights } = traffic(proxy, from);
      const failed = tokenPreflights.filter((r) => r.status !== 200 && r.status !== 204);
      env.note(`100 images over 300±100 ms: ${broken(gallery)} broken, last one at ${Math.max(...gallery.map((l) => l.ms))} ms; preflights for the token ${tokenPreflights.length}, failed ${failed.length}`);
      assert.equal(broken(gallery), 0, `${broken(gallery)} of 100 images failed`);
      assert.ok(failed.length <= 2, `${failed.length} failed preflights: one verdict costs at most 2`);
      assertPath(env, from, token, 'the gallery');
    },
  },
  {
    title: 'bandwidth of 1 MB/s: a video shows its first frame while it downloads, seeks, and each byte crosses the link once',
    async run(env) {
      const { driver: d, link, proxy } = env;
      const token = await signIn(env);
      const mxc = await env.server.upload(token, VIDEO, 'video/webm', 'clip.webm');
      await link.add({ type: 'bandwidth', attributes: { rate: 1000 } });
      const bytesBefore = proxy.mediaBytes;
      const src = `${proxy.url}/_matrix/media/v3/download/${mxc.slice(6)}`;
      // What the element itself holds when it first plays: the share of the video it has buffered.
      await d.run(`window.firstFrame = undefined;
        document.addEventListener('playing', (e) => {
          const v = e.target;
          if (window.firstFrame === undefined) window.firstFrame = v.buffered.length ? v.buffered.end(v.buffered.length - 1) / v.duration : 0;
        }, { capture: true });`);
      const playing = d.run(PLAY_AND_SEEK, { src, at: 0.9, unload: true });
      assert.deepEqual(await playing, { loaded: 'loadedmetadata', seeked: 'seeked', at: 27, played: true });
      const buffered = await d.run<number>('return window.firstFrame;');
      await untilStored(d, mxc, VIDEO.length);
      const sent = proxy.mediaBytes - bytesBefore;
      env.note(`first frame with ${(buffered * 100).toFixed(0)} % of the video buffered; ${sent} bytes crossed the link (${(sent / VIDEO.length).toFixed(3)} × the file)`);
      assert.ok(buffered < 1, 'the video played before its download had finished');
      assert.ok(sent <= VIDEO.length * 1.05, `${sent} bytes crossed the link for a ${VIDEO.length}-byte video`);
    },
  },
  {
    title: 'limit_data cuts the video download mid-body: playback goes on after a stall, never an error, and the link carries the cut bytes plus the file once',
    async run(env) {
      const { driver: d, link, proxy } = env;
      const token = await signIn(env);
      const mxc = await env.server.upload(token, VIDEO, 'video/webm', 'clip.webm');
      const from = proxy.log.length;
      const cut = await link.add({ type: 'limit_data', attributes: { bytes: 600_000 } });
      // Lifted at the first cut, so that the next connection can carry the file.
      const lifted = new Promise<void>((resolve) => (proxy.onCut = () => resolve(link.remove(cut))));
      const src = `${proxy.url}/_matrix/media/v3/download/${mxc.slice(6)}`;
      const playing = d.run(PLAY_AND_SEEK, { src, at: 0.9, unload: true });
      const downloads = () => proxy.log.slice(from).filter((r) => r.method === 'GET' && isMedia(r.path));
      await lifted;
      const played = await playing;
      assert.deepEqual(played, { loaded: 'loadedmetadata', seeked: 'seeked', at: 27, played: true });
      // Carried on through the store: the file is kept whole, its stored part not fetched into it twice.
      await untilStored(d, mxc, VIDEO.length);
      const all = downloads();
      const cutBytes = all.filter((r) => !r.complete).reduce((sum, r) => sum + r.bytes, 0);
      const sent = all.reduce((sum, r) => sum + r.bytes, 0);
      env.note(`${all.length} downloads, ${all.filter((r) => !r.complete).length} cut after ${cutBytes} bytes; ${sent} bytes in all for a ${VIDEO.length}-byte video`);
      assert.ok(sent <= cutBytes + VIDEO.length * 1.05, `${sent} bytes crossed the link: more than the ${cutBytes} cut bytes plus the file once`);
    },
  },
  {
    title: 'offline (the server unreachable), then online: the stored video plays, new images fail within the bound, and load once online without a reload',
    async run(env) {
      const { driver: d, link, proxy } = env;
      const token = await signIn(env);
      const video = await env.server.upload(token, VIDEO, 'video/webm', 'clip.webm');
      const mxc = await uploadPhoto(env, token);
      const src = `${proxy.url}/_matrix/media/v3/download/${video.slice(6)}`;
      assert.deepEqual(await d.run(PLAY_AND_SEEK, { src, at: 0.5, unload: true }), { loaded: 'loadedmetadata', seeked: 'seeked', at: 15, played: true });
      await untilStored(d, video, VIDEO.length);
      // After a reload nothing of the video is left in the page: only the worker's store can play it.
      await d.reload();
      await signIn(env, token);
      await link.setEnabled(false);
      try {
        assert.deepEqual(await d.run(PLAY_AND_SEEK, { src, at: 0.9, unload: true }), { loaded: 'loadedmetadata', seeked: 'seeked', at: 27, played: true }, 'the stored video plays offline');
        const offline = await loadImages(d, legacyUrls(env, mxc, 3, 'new'));
        const slowest = Math.max(...offline.map((l) => l.ms));
        env.note(`offline: the stored video played; new images broken ${broken(offline)}/3, the slowest answer after ${slowest} ms`);
        assert.ok(slowest <= ANSWER_BOUND_MS, `an image waited ${slowest} ms offline, past the ${ANSWER_BOUND_MS} ms bound`);
      } finally {
        await link.setEnabled(true);
      }
      const from = proxy.log.length;
      const online = await loadImages(d, legacyUrls(env, mxc, 3, 'new'));
      assert.equal(broken(online), 0, 'new media loads once online, without a reload');
      assertPath(env, from, token, 'once online');
    },
  },
  {
    title: 'a gallery of 24 thumbnails at once: at most 2 failed preflights where Dendrite refuses them, v1 with the token where they are answered',
    servers: ['Dendrite'],
    async run(env) {
      const { driver: d, link, proxy } = env;
      const token = await signIn(env);
      const photos = await Promise.all(Array.from({ length: 12 }, () => uploadPhoto(env, token, 200, 150)));
      const from = proxy.log.length;
      const urls = photos.flatMap((mxc) =>
        ['width=32&height=32&method=crop', 'width=96&height=96&method=crop'].map((size) => `${proxy.url}/_matrix/media/v3/thumbnail/${mxc.slice(6)}?${size}`),
      );
      const gallery = await loadImages(d, urls);
      const { tokenPreflights } = traffic(proxy, from);
      const failed = tokenPreflights.filter((r) => r.status !== 200 && r.status !== 204);
      env.note(`24 thumbnails: ${broken(gallery)} broken; preflights for the token ${tokenPreflights.length}, failed ${failed.length}`);
      assert.equal(broken(gallery), 0, `${broken(gallery)} of 24 thumbnails failed`);
      assert.ok(failed.length <= 2, `${failed.length} failed preflights for 24 thumbnails`);
      assertPath(env, from, token, 'the gallery');
    },
  },
];
