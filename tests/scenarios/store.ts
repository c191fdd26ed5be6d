import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Homeserver } from '../../demo/homeserver/server.js';
import { startBusyLoops } from '../busyLoops.js';
import type { PageDriver } from './driver.js';
import type { Scenario } from './takeover.js';

/**
 * Each file downloaded once: against a homeserver that ignores Range (as Synapse does) and
 * sends `no-cache` (so the browser's HTTP cache cannot stand in for the worker's store), a video
 * played, sought to 90 %, reloaded and played again costs the homeserver about one file.
 */

export const VIDEO = readFileSync(resolve(import.meta.dirname, '../../demo/media/sample-video.webm'));

/**
 * The video padded to `megabytes` with an EBML Void element after its segment, which players
 * skip; `random` padding, for a disk that must not compress it.
 */
export function paddedVideo(megabytes: number, seed: number, random = false): Buffer {
  const padding = megabytes * 1024 * 1024 - VIDEO.length - 9;
  const header = Buffer.alloc(9);
  header[0] = 0xec; // Void
  header[1] = 0x01; // an 8-byte size follows: 7 bytes of length
  header.writeUIntBE(padding, 3, 6);
  return Buffer.concat([VIDEO, header, random ? randomBytes(padding) : Buffer.alloc(padding, seed)]);
}

/**
 * Plays a <video crossorigin> from `args.src`, seeks to `args.at` of its length; what the user
 * sees. `args.crossOrigin: false` leaves the attribute off, to show what that does; `args.unload`
 * makes the element let go of the video afterwards, as an app that is done with it does.
 */
export const PLAY_AND_SEEK = `
  const video = document.createElement('video');
  video.muted = true;
  video.preload = 'auto';
  if (args.crossOrigin !== false) video.crossOrigin = 'anonymous';
  document.body.append(video);
  const event = (name) => new Promise((resolve) => {
    video.addEventListener(name, () => resolve(name), { once: true });
    video.addEventListener('error', () => resolve('error ' + (video.error && video.error.code)), { once: true });
  });
  const metadata = event('loadedmetadata');
  video.src = args.src;
  const loaded = await metadata;
  if (loaded !== 'loadedmetadata') return { loaded, seeked: '', at: 0, played: false };
  await video.play();
  const seeked = event('seeked');
  video.currentTime = video.duration * args.at;
  const seekedResult = await seeked;
  const at = video.currentTime;
  await new Promise((r) => setTimeout(r, 600));
  const played = video.currentTime > at;
  video.pause();
  video.remove();
  // A removed element may still load (Firefox asks for more of it later): args.unload ends that.
  if (args.unload) { video.removeAttribute('src'); video.load(); }
  return { loaded, seeked: seekedResult, at: Math.round(at), played };`;

/** What the worker's media store holds: each file's key parts and stored bytes. */
export function storeContents(d: PageDriver): Promise<Array<{ key: string; sessionId: string; size: number; stored: number }>> {
  return d.run(
    `return await new Promise((resolve, reject) => {
       const open = indexedDB.open('matrix-media-sw-store');
       open.onerror = () => reject(open.error);
       open.onsuccess = () => {
         const db = open.result;
         if (!db.objectStoreNames.contains('files')) return resolve([]);
         const all = db.transaction('files').objectStore('files').getAll();
         all.onsuccess = () => resolve(all.result.map(({ key, sessionId, size, stored }) => ({ key, sessionId, size, stored })));
       };
     });`,
  );
}

/** Waits until the store holds all `size` bytes of the file of `mxc` (its download has finished). */
export async function untilStored(d: PageDriver, mxc: string, size: number): Promise<void> {
  const mediaId = mxc.split('/').pop()!;
  for (let i = 0; i < 400; i++) {
    if ((await storeContents(d)).some((f) => f.key.endsWith(`/${mediaId}`) && f.stored === size)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`the store never held all ${size} bytes: ${JSON.stringify(await storeContents(d))}`);
}

/** Plays `src` and seeks to `at`, then lets it go, as a user watching once (with every core busy when `underLoad`); asserts it played. */
export async function watchOnce(d: PageDriver, src: string, at: number, underLoad: boolean): Promise<void> {
  const stop = underLoad ? startBusyLoops() : undefined;
  let watched;
  try {
    watched = await d.run<{ loaded: string; seeked: string; played: boolean }>(PLAY_AND_SEEK, { src, at, unload: true });
  } finally {
    await stop?.();
  }
  assert.deepEqual([watched.loaded, watched.seeked, watched.played], ['loadedmetadata', 'seeked', true], `the video plays and seeks to ${at * 100} %`);
}

/**
 * What the homeserver sent for the file of `mxc` (GET bodies and headers), and in how many
 * responses, once each has ended: a download nobody reads stops within seconds.
 */
export async function bytesSentFor(homeserver: Homeserver, mxc: string): Promise<{ sent: number; responses: number }> {
  const id = mxc.split('/').pop()!;
  const responses = () => homeserver.log.filter((r) => r.method === 'GET' && r.path.includes(id));
  for (let i = 0; i < 200 && !responses().every((r) => r.closed); i++) await new Promise((r) => setTimeout(r, 100));
  return { sent: responses().reduce((sum, r) => sum + r.bytes, 0), responses: responses().length };
}

export const mediaBytesSent = (homeserver: Homeserver) =>
  homeserver.log.filter((r) => r.method === 'GET' && r.path.includes('/media/')).reduce((sum, r) => sum + r.bytes, 0);

/**
 * A video larger than the session's `storeBytes`, played and sought to `at` (with every core busy
 * when `underLoad`): the homeserver sends it once, and the store keeps none of it.
 */
function tooLargeToStore(underLoad: boolean): Scenario {
  return {
    title: `a video larger than storeBytes plays and seeks for one download, and none of it is stored${underLoad ? ', with every core busy' : ''}`,
    async run(env) {
      const { driver: d, homeserver } = env;
      Object.assign(homeserver.config, { rangeSupport: false, mediaCacheControl: 'no-cache' });
      const token = homeserver.register('alice', 'pw');
      await d.run('const r = await window.register(args); if (!r.ok) throw new Error(r.message);', { homeserverUrl: homeserver.url, accessToken: token, storeBytes: 1024 * 1024 });
      const video = paddedVideo(12, 5);
      const mxc = homeserver.addMedia(video, 'video/webm', 'large.webm');
      const src = await d.run<string>('return window.handles[0].mediaUrl(args);', mxc);
      await watchOnce(d, src, 0.8, underLoad);
      const { sent, responses } = await bytesSentFor(homeserver, mxc);
      env.note(`homeserver sent ${(sent / video.length).toFixed(2)} × the ${video.length}-byte video in ${responses} responses`);
      assert.ok(sent <= video.length * 1.05, `sent ${sent} bytes, more than 1.05 × ${video.length}`);
      assert.deepEqual(
        (await storeContents(d)).filter((f) => f.key.endsWith(`/${mxc.split('/').pop()}`) && f.stored > 0),
        [],
        'nothing of the video is stored',
      );
    },
  };
}

export const storeScenarios: Scenario[] = [
  {
    title: 'a video played, sought to 90 %, reloaded and played again costs the homeserver one download',
    async run(env) {
      const { driver: d, homeserver } = env;
      Object.assign(homeserver.config, { rangeSupport: false, mediaCacheControl: 'no-cache' });
      const token = homeserver.register('alice', 'pw');
      const mxc = homeserver.addMedia(VIDEO, 'video/webm', 'clip.webm');
      const register = () => d.run('const r = await window.register(args); if (!r.ok) throw new Error(r.message);', { homeserverUrl: homeserver.url, accessToken: token });
      await register();
      const src = await d.run<string>('return window.handles[0].mediaUrl(args);', mxc);
      assert.deepEqual(await d.run(PLAY_AND_SEEK, { src, at: 0.9 }), { loaded: 'loadedmetadata', seeked: 'seeked', at: 27, played: true });
      await untilStored(d, mxc, VIDEO.length);
      const beforeReload = homeserver.log.length;

      await d.reload();
      await register();
      await d.run('window.reports = []; await window.handles[0].onDiagnostic((e) => window.reports.push(e));');
      assert.deepEqual(await d.run(PLAY_AND_SEEK, { src, at: 0.9 }), { loaded: 'loadedmetadata', seeked: 'seeked', at: 27, played: true });
      // The server said no-cache: it is asked whether it still serves the video, never for its bytes.
      const asked = homeserver.log.slice(beforeReload).filter((r) => r.path.includes('/media/'));
      assert.deepEqual(asked.filter((r) => r.method === 'GET'), [], 'after the reload the homeserver is not asked for the video');
      assert.ok(asked.every((r) => r.method === 'HEAD' || r.method === 'OPTIONS'), `only rechecks: ${asked.map((r) => r.method)}`);
      // A read to the end is reported at once (a video element may hold its streams open).
      const sources = await d.run<string[]>(
        `await (await fetch(args, { headers: { Range: 'bytes=0-99' } })).arrayBuffer();
         for (let i = 0; i < 100 && !window.reports.some((e) => e.bytes === 100); i++) await new Promise((r) => setTimeout(r, 20));
         return window.reports.map((e) => e.source);`,
        src,
      );
      assert.ok(sources.length > 0 && sources.every((s) => s === 'store-rechecked'), `diagnostics name the store, after its recheck: ${sources}`);
      const sent = mediaBytesSent(homeserver);
      env.note(`homeserver sent ${sent} bytes for a ${VIDEO.length}-byte video: ${(sent / VIDEO.length).toFixed(3)} ×`);
      assert.ok(sent <= VIDEO.length * 1.05, `sent ${sent} bytes, more than 1.05 × ${VIDEO.length}`);
    },
  },
  tooLargeToStore(false),
  tooLargeToStore(true),
];
