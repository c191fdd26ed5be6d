import assert from 'node:assert/strict';
import type { Homeserver } from '../../demo/homeserver/server.js';
import { decodeBase64 } from '../../src/encryptedFile.js';
import type { PageDriver } from './driver.js';
import { encryptedUrl, everythingStored, uploadEncrypted } from './encrypted.js';
import { PLAY_AND_SEEK, storeContents, untilStored, VIDEO } from './store.js';
import type { Scenario } from './takeover.js';

/**
 * The media store follows the server's rules and the app's (issue 23): `no-store` keeps nothing,
 * a fresh file is served unasked, a stale one is asked about, a removed one is deleted, and the
 * app sees and clears what is kept. Each against a homeserver that ignores Range, as Synapse does.
 */

const REGISTER = 'const r = await window.register(args); if (!r.ok) throw new Error(r.message);';
const HANDLE = 'window.handles[window.handles.length - 1]';

/** Signs in against `homeserver` serving media under `cacheControl`; returns how to register again after a reload. */
function signIn(d: PageDriver, homeserver: Homeserver, cacheControl: string, options: Record<string, unknown> = {}) {
  Object.assign(homeserver.config, { rangeSupport: false, mediaCacheControl: cacheControl });
  const token = homeserver.register('alice', 'pw');
  return () => d.run(REGISTER, { homeserverUrl: homeserver.url, accessToken: token, ...options });
}

const mediaUrl = (d: PageDriver, mxc: string) => d.run<string>(`return ${HANDLE}.mediaUrl(args);`, mxc);
const played = { loaded: 'loadedmetadata', seeked: 'seeked', at: 27, played: true };

/** Media requests the homeserver received since log entry `from`. */
const mediaRequests = (homeserver: Homeserver, from: number) => homeserver.log.slice(from).filter((r) => r.path.includes('/media/'));
const bytesSent = (homeserver: Homeserver, from: number) => mediaRequests(homeserver, from).reduce((sum, r) => sum + r.bytes, 0);

/** Fetches `src` as a video asks for it (a Range from the start): the status and the bytes that arrived. */
const rangedFetch = (d: PageDriver, src: string) =>
  d.run<{ status: number; bytes: number }>(
    "const r = await fetch(args, { headers: { Range: 'bytes=0-' } }); return { status: r.status, bytes: (await r.arrayBuffer()).byteLength };",
    src,
  );

/** Slices of the video from its start, middle and end, as latin1: a scan of storage looks for each. */
const VIDEO_SAMPLES = [0.05, 0.5, 0.95].map((at) => VIDEO.subarray(Math.floor(VIDEO.length * at), Math.floor(VIDEO.length * at) + 64).toString('latin1'));

/** Asserts that no IndexedDB database and no Cache Storage entry of the origin holds any of the video's bytes. */
export async function assertNothingOfTheVideoStored(d: PageDriver, why: string): Promise<void> {
  const stored = await everythingStored(d);
  assert.ok(stored.length > 0, "the scan read the origin's databases (the worker's sessions at least)");
  VIDEO_SAMPLES.forEach((sample, i) => assert.ok(!stored.includes(sample), `${why}: sample ${i} of the video found in the origin's storage`));
}

/** Registers, plays the video and waits until the store holds all of it. */
async function storedWhole(d: PageDriver, homeserver: Homeserver, register: () => Promise<unknown>) {
  await register();
  const mxc = homeserver.addMedia(VIDEO, 'video/webm', 'clip.webm');
  const src = await mediaUrl(d, mxc);
  assert.deepEqual(await d.run(PLAY_AND_SEEK, { src, at: 0.9, unload: true }), played);
  await untilStored(d, mxc, VIDEO.length);
  return { mxc, src };
}

/** The video stored whole, then its freshness run out (the server said max-age=1). */
async function storedThenStale(d: PageDriver, homeserver: Homeserver, register: () => Promise<unknown>) {
  const stored = await storedWhole(d, homeserver, register);
  await new Promise((r) => setTimeout(r, 1_200));
  return stored;
}

/** Reloads, registers again and plays `src`: what the user sees on coming back. */
async function replayAfterReload(d: PageDriver, register: () => Promise<unknown>, src: string) {
  await d.reload();
  await register();
  return d.run<{ loaded: string; played: boolean }>(PLAY_AND_SEEK, { src, at: 0.9, unload: true });
}

const removalScenario = (status: 403 | 404, what: string): Scenario => ({
  title: `stale and ${what} (${status}): the replay does not play, and afterwards nothing of the video is stored`,
  async run({ driver: d, homeserver }) {
    const register = signIn(d, homeserver, 'max-age=1');
    const { mxc, src } = await storedThenStale(d, homeserver, register);
    homeserver.removeMedia(mxc, status);
    const from = homeserver.log.length;
    const replay = await replayAfterReload(d, register, src);
    assert.notEqual(replay.loaded, 'loadedmetadata', `the ${what} video must not play: ${JSON.stringify(replay)}`);
    assert.ok(mediaRequests(homeserver, from).some((r) => r.status === status), `the homeserver was asked and answered ${status}`);
    assert.deepEqual((await storeContents(d)).filter((f) => f.key.endsWith(mxc.split('/').pop()!)), []);
    await assertNothingOfTheVideoStored(d, `after the ${status}`);
  },
});

export const storeRuleScenarios: Scenario[] = [
  {
    title: 'no-store: a video plays, seeks and replays, nothing of it reaches IndexedDB or Cache Storage, and after a reload it is sent again',
    async run({ driver: d, homeserver, note }) {
      const register = signIn(d, homeserver, 'private, no-store');
      await register();
      const mxc = homeserver.addMedia(VIDEO, 'video/webm', 'clip.webm');
      const src = await mediaUrl(d, mxc);
      assert.deepEqual(await d.run(PLAY_AND_SEEK, { src, at: 0.9 }), played);
      assert.deepEqual(await d.run(PLAY_AND_SEEK, { src, at: 0.9, unload: true }), played, 'the replay in the same view');
      // Writes, if there were any, would have landed by now.
      await new Promise((r) => setTimeout(r, 500));
      assert.deepEqual(await storeContents(d), []);
      await assertNothingOfTheVideoStored(d, 'after playing a no-store video');

      const from = homeserver.log.length;
      assert.deepEqual(await replayAfterReload(d, register, src), played);
      // A ranged fetch, as a video asks, after the replay: Firefox's media cache may play the clip
      // again from its own memory, but the worker has nothing from the view before the reload to
      // answer with (the replay's own download serves the page that replayed it, for its view).
      assert.deepEqual(await rangedFetch(d, src), { status: 206, bytes: VIDEO.length });
      const sent = bytesSent(homeserver, from);
      note(`after the reload the homeserver sent ${sent} bytes for a ${VIDEO.length}-byte no-store video`);
      assert.ok(sent >= VIDEO.length, `the file is sent again after a reload: ${sent} bytes`);
      await assertNothingOfTheVideoStored(d, 'after the replay');
    },
  },
  {
    title: 'fresh: the replay after a reload sends no request, even when the server has since deleted the file',
    async run({ driver: d, homeserver }) {
      const register = signIn(d, homeserver, 'max-age=3600');
      const { mxc, src } = await storedWhole(d, homeserver, register);
      homeserver.removeMedia(mxc, 404);
      const from = homeserver.log.length;
      assert.deepEqual(await replayAfterReload(d, register, src), played);
      assert.deepEqual(mediaRequests(homeserver, from), [], 'a fresh file is served without asking');
    },
  },
  {
    title: 'stale and still served: the replay plays after one recheck that sends a small fraction of the file',
    async run({ driver: d, homeserver, note }) {
      const register = signIn(d, homeserver, 'max-age=1');
      const { src } = await storedThenStale(d, homeserver, register);
      // The recheck's answer makes the file fresh for an hour: one question, not one per range.
      homeserver.config.mediaCacheControl = 'max-age=3600';
      const from = homeserver.log.length;
      assert.deepEqual(await replayAfterReload(d, register, src), played);
      const asked = mediaRequests(homeserver, from);
      assert.deepEqual(asked.filter((r) => r.method !== 'OPTIONS').map((r) => `${r.method} ${r.status}`), ['HEAD 200'], 'one recheck');
      const sent = bytesSent(homeserver, from);
      note(`the recheck cost ${sent} bytes for a ${VIDEO.length}-byte video`);
      assert.ok(sent < VIDEO.length * 0.05, `the recheck sent ${sent} bytes`);
    },
  },
  removalScenario(404, 'deleted'),
  removalScenario(403, 'forbidden'),
  {
    title: 'stale and the server unreachable: the replay plays from the store, and the diagnostics say stale',
    async run({ driver: d, homeserver }) {
      const register = signIn(d, homeserver, 'max-age=1');
      const { src } = await storedThenStale(d, homeserver, register);
      homeserver.config.dropMediaConnections = true;
      assert.deepEqual(await replayAfterReload(d, register, src), played);
      const sources = await d.run<string[]>(
        `window.reports = [];
         await ${HANDLE}.onDiagnostic((e) => window.reports.push(e));
         await (await fetch(args, { headers: { Range: 'bytes=0-99' } })).arrayBuffer();
         for (let i = 0; i < 100 && !window.reports.some((e) => e.bytes === 100); i++) await new Promise((r) => setTimeout(r, 20));
         return window.reports.map((e) => e.source);`,
        src,
      );
      assert.deepEqual(sources, ['store-stale']);
    },
  },
  {
    title: 'storeUsage counts one video; clearStore empties the store and keeps the session; the next play downloads again',
    async run({ driver: d, homeserver }) {
      const register = signIn(d, homeserver, 'no-cache');
      await register();
      const mxc = homeserver.addMedia(VIDEO, 'video/webm', 'clip.webm');
      const src = await mediaUrl(d, mxc);
      const usage = () => d.run<{ files: number; bytes: number; limitBytes: number; memoryBytes: number }>(`return ${HANDLE}.storeUsage();`);
      assert.deepEqual(await usage(), { files: 0, bytes: 0, limitBytes: (await usage()).limitBytes, memoryBytes: 0 });
      assert.deepEqual(await d.run(PLAY_AND_SEEK, { src, at: 0.9, unload: true }), played);
      await untilStored(d, mxc, VIDEO.length);
      const after = await usage();
      assert.deepEqual({ files: after.files, bytes: after.bytes }, { files: 1, bytes: VIDEO.length });
      assert.ok(after.limitBytes >= VIDEO.length, `a limit: ${after.limitBytes}`);

      await d.run(`await ${HANDLE}.clearStore();`);
      assert.deepEqual(await usage(), { ...after, files: 0, bytes: 0 });
      await assertNothingOfTheVideoStored(d, 'after clearStore');
      const from = homeserver.log.length;
      // A ranged fetch, as a video asks, not a second <video>: Chromium's renderer keeps the media
      // it buffered per URL and would play the clip again without asking the worker at all.
      assert.deepEqual(await rangedFetch(d, src), { status: 206, bytes: VIDEO.length }, 'the session still serves media');
      assert.ok(bytesSent(homeserver, from) >= VIDEO.length, `downloaded again: ${JSON.stringify(mediaRequests(homeserver, from).map((r) => [r.method, r.status, r.bytes]))}`);
      await untilStored(d, mxc, VIDEO.length);
      assert.equal((await usage()).files, 1, 'and stored again');
    },
  },
  {
    title: "an encrypted file's URL holds nothing of its url, key, iv or hash in any encoding, and after a reload still finds its stored ciphertext",
    async run({ driver: d, homeserver }) {
      const register = signIn(d, homeserver, 'no-cache');
      await register();
      const video = await uploadEncrypted(homeserver, VIDEO);
      const src = await encryptedUrl(d, video.file, { mimetype: 'video/webm', filename: 'clip.webm' });
      const { url, key, iv, hashes } = video.file;
      const forms = (value: string): string[] => {
        const bytes = decodeBase64(value);
        const base64 = bytes ? Buffer.from(bytes).toString('base64') : value;
        return [
          value,
          encodeURIComponent(value),
          ...(bytes ? [base64, base64.replace(/=+$/, ''), Buffer.from(bytes).toString('base64url'), Buffer.from(bytes).toString('hex'), Buffer.from(bytes).toString('hex').toUpperCase()] : []),
        ];
      };
      const secrets = { url: [url, encodeURIComponent(url), url.split('/').pop()!], 'key.k': forms(key.k), iv: forms(iv), 'hashes.sha256': forms(hashes.sha256) };
      const path = decodeURIComponent(new URL(src).pathname) + new URL(src).search;
      for (const [name, values] of Object.entries(secrets)) {
        for (const value of values) assert.ok(!src.includes(value) && !path.includes(value), `the URL ${src} holds ${name} (as ${value})`);
      }
      assert.deepEqual(await d.run(PLAY_AND_SEEK, { src, at: 0.9, unload: true }), played);
      await untilStored(d, url, video.ciphertextBytes);
      const from = homeserver.log.length;
      await d.reload();
      await register();
      assert.equal(await encryptedUrl(d, video.file, { mimetype: 'video/webm', filename: 'clip.webm' }), src, 'the same URL after a reload');
      assert.deepEqual(await d.run(PLAY_AND_SEEK, { src, at: 0.5, unload: true }), { ...played, at: 15 });
      // The server said no-cache: it may be asked whether it still serves the file, never for its bytes.
      assert.deepEqual(mediaRequests(homeserver, from).filter((r) => r.method === 'GET'), [], 'the stored ciphertext is found');
    },
  },
];
