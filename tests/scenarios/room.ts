import assert from 'node:assert/strict';
import type { Homeserver } from '../../demo/homeserver/server.js';
import { samplePhoto } from '../../demo/homeserver/samples.js';
import type { PageDriver } from './driver.js';
import { bytesSentFor, paddedVideo, watchOnce } from './store.js';

/**
 * A small disk, or a small quota: the room an origin really has is less than the browser says
 * (Chromium's `estimate()` reports 1 GiB or more whatever the disk holds). A client's own
 * IndexedDB (its crypto store, its sync state) fills most of that room; the user watches media;
 * the app must still be able to write afterwards, since a failed write there can lose keys.
 * The store's bytes can always be downloaded again; the app's cannot.
 */

const MiB = 1024 * 1024;

/**
 * Writes `args.megabytes` MiB of random bytes (the app's data: incompressible, like keys and
 * ciphertext) into database `args.name`, one MiB per transaction, as an app writes; stops at the
 * first write that fails. Resolves with how many were written and the error's name.
 */
const APP_WRITES = `
  const db = await new Promise((resolve, reject) => {
    const open = indexedDB.open(args.name, 1);
    open.onupgradeneeded = () => open.result.createObjectStore('data');
    open.onsuccess = () => resolve(open.result);
    open.onerror = () => reject(open.error);
  });
  const count = await new Promise((resolve) => {
    const req = db.transaction('data').objectStore('data').count();
    req.onsuccess = () => resolve(req.result);
  });
  let written = 0;
  let error = null;
  for (let i = 0; i < args.megabytes; i++) {
    const bytes = new Uint8Array(1 << 20);
    for (let at = 0; at < bytes.length; at += 65536) crypto.getRandomValues(bytes.subarray(at, at + 65536));
    try {
      await new Promise((resolve, reject) => {
        const tx = db.transaction('data', 'readwrite');
        tx.objectStore('data').put(bytes, count + i);
        tx.oncomplete = () => resolve();
        tx.onerror = (event) => reject(event.target.error || tx.error);
        tx.onabort = () => reject(tx.error);
      });
      written += 1;
    } catch (e) {
      error = (e && e.name) || String(e);
      break;
    }
  }
  db.close();
  return { written, error };`;

const DELETE_DATABASE = `
  await new Promise((resolve, reject) => {
    const req = indexedDB.deleteDatabase(args);
    req.onsuccess = () => resolve();
    req.onerror = () => reject(req.error);
  });`;

interface StoreUsage {
  files: number;
  bytes: number;
  limitBytes: number;
}

const storeUsage = (d: PageDriver) => d.run<StoreUsage>('return await window.handles[0].storeUsage();');

export interface SmallRoomEnv {
  driver: PageDriver;
  homeserver: Homeserver;
  note: (text: string) => void;
  /** Keeps every core busy while the video plays and seeks. */
  underLoad: boolean;
}

/** The scenario, in a browser whose origin has little room (a small disk, or a small quota). */
export async function mediaOnASmallDisk(env: SmallRoomEnv): Promise<void> {
  const { driver: d, homeserver } = env;
  Object.assign(homeserver.config, { rangeSupport: false, mediaCacheControl: 'no-cache' });
  const token = homeserver.register('alice', 'pw');
  await d.run('const r = await window.register(args); if (!r.ok) throw new Error(r.message);', { homeserverUrl: homeserver.url, accessToken: token });

  // The room, found as the store must find it: by writing until a write fails.
  const probe = await d.run<{ written: number; error: string | null }>(APP_WRITES, { name: 'room-probe', megabytes: 1024 });
  assert.ok(probe.error !== null && probe.written >= 10, `the origin should have a small room: ${JSON.stringify(probe)}`);
  await d.run(DELETE_DATABASE, 'room-probe');
  const room = probe.written;
  const appData = Math.floor(room * 0.8);
  const filled = await d.run<{ written: number; error: string | null }>(APP_WRITES, { name: 'app-data', megabytes: appData });
  assert.equal(filled.written, appData, `the app's database takes 80 % of the room: ${JSON.stringify(filled)}`);
  const left = room - appData;
  const before = await storeUsage(d);
  const originUsage = () => d.run<number>('return (await navigator.storage.estimate()).usage;');
  const usedBeforeMedia = await originUsage();
  env.note(`room ${room} MiB (the write after it failed with ${probe.error}); the app's data ${appData} MiB; the store's limit before any media: ${(before.limitBytes / MiB).toFixed(1)} MiB`);

  // Media shows: a photo and its thumbnail.
  const photo = homeserver.addMedia(await samplePhoto(640, 480, 7, 'png'), 'image/png', 'photo.png');
  for (const options of [{}, { width: 96, height: 96, method: 'scale' }]) {
    const src = await d.run<string>('return window.handles[0].mediaUrl(args.mxc, args.options);', { mxc: photo, options });
    const shown = await d.run<{ ok: boolean; width: number }>('return await window.loadImage(args);', src);
    assert.ok(shown.ok && shown.width > 0 && shown.width <= 640, `${JSON.stringify(options)} shows: ${JSON.stringify(shown)}`);
  }

  // A video larger than the room left, played and sought to 80 %.
  const size = 24;
  assert.ok(size > left, `the video (${size} MiB) must not fit the room left (${left} MiB)`);
  const video = paddedVideo(size, 3, true);
  const mxc = homeserver.addMedia(video, 'video/webm', 'big.webm');
  const src = await d.run<string>('return window.handles[0].mediaUrl(args);', mxc);
  await watchOnce(d, src, 0.8, env.underLoad);
  const { sent, responses } = await bytesSentFor(homeserver, mxc);
  env.note(`the ${size} MiB video played and sought to 80 %${env.underLoad ? ' with every core busy' : ''}: the homeserver sent ${(sent / video.length).toFixed(2)} × the file in ${responses} responses`);

  // The store leaves the room it found to the app: its limit is no more than the room left.
  let usage = await storeUsage(d);
  for (let i = 0; i < 100 && usage.bytes > usage.limitBytes; i++) {
    await new Promise((r) => setTimeout(r, 100));
    usage = await storeUsage(d);
  }
  // Chromium gives a deletion's room back late: its usage went on counting 1 to 5 MiB of the
  // store's deleted chunks after the store's index was empty (stopping the worker did not
  // release it), and an app's write a second later was refused in 1 busy run of 10. The app
  // writes once the origin's usage shows the store's room back, or after 10 s (0 refusals in 8
  // busy runs). docs/media-store.md says what an app does when its write is refused.
  const waited = Date.now();
  let last = await originUsage();
  while (Date.now() - waited < 10_000 && last > usedBeforeMedia + usage.bytes + MiB) {
    await new Promise((r) => setTimeout(r, 250));
    last = await originUsage();
  }
  env.note(`after the video the store holds ${(usage.bytes / MiB).toFixed(1)} MiB and reports a limit of ${(usage.limitBytes / MiB).toFixed(1)} MiB; the origin's usage after ${Date.now() - waited} ms: ${(last / MiB).toFixed(2)} MiB (${(usedBeforeMedia / MiB).toFixed(2)} before media)`);
  assert.ok(usage.limitBytes <= left * MiB, `storeUsage().limitBytes is ${(usage.limitBytes / MiB).toFixed(1)} MiB, above the ${left} MiB of room the disk had left`);
  assert.ok(usage.bytes <= usage.limitBytes, `the store holds ${usage.bytes} bytes, above its limit ${usage.limitBytes}`);

  // The app writes 10 % of the room more, and media goes on showing.
  const more = Math.ceil(room * 0.1);
  const later = await d.run<{ written: number; error: string | null }>(APP_WRITES, { name: 'app-data', megabytes: more });
  assert.deepEqual(later, { written: more, error: null }, `after media was watched the app can write ${more} MiB more`);
  assert.ok(sent <= video.length * 1.05, `the homeserver sent ${sent} bytes for the ${video.length}-byte video: more than 1.05 × the file`);
  const again = await d.run<{ ok: boolean }>('return await window.loadImage(args);', await d.run<string>('return window.handles[0].mediaUrl(args);', photo));
  assert.ok(again.ok, 'the photo still shows');
}
