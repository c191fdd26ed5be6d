import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { encryptAttachment } from 'matrix-encrypt-attachment';
import { samplePng } from '../../demo/homeserver/png.js';
import type { Homeserver } from '../../demo/homeserver/server.js';
import type { EncryptedFile } from '../../src/encryptedFile.js';
import { until, type PageDriver } from './driver.js';
import { PLAY_AND_SEEK, storeContents, untilStored, VIDEO } from './store.js';
import type { Scenario } from './takeover.js';

/**
 * Encrypted attachments decrypted in the worker. The fixtures are encrypted by
 * matrix-encrypt-attachment (an implementation independent of ours, on Node's crypto) and
 * uploaded as ciphertext, as a client in an encrypted room does; the homeserver ignores Range and
 * sends no-cache, so only the worker's store can spare a second download.
 */

export interface Attachment {
  file: EncryptedFile;
  plain: Buffer;
  ciphertext: Buffer;
  ciphertextBytes: number;
}

/** Encrypts `plain` and uploads the ciphertext; `tamper` flips one bit of it after hashing. */
export async function uploadEncrypted(homeserver: Homeserver, plain: Buffer, tamper = false): Promise<Attachment> {
  const { data, info } = await encryptAttachment(plain.buffer.slice(plain.byteOffset, plain.byteOffset + plain.byteLength) as ArrayBuffer);
  const ciphertext = Buffer.from(data);
  if (tamper) ciphertext[100] ^= 1;
  const mxc = homeserver.addMedia(ciphertext, 'application/octet-stream');
  return { file: { ...(info as unknown as EncryptedFile), url: mxc }, plain, ciphertext, ciphertextBytes: ciphertext.length };
}

/** A text file with a marker no other file has (about 31 bytes per line): a scan of storage looks for it. */
export function markedText(lines = 200): { plain: Buffer; marker: string } {
  const marker = `PLAINTEXT-MARKER-${randomBytes(12).toString('hex')}`;
  return { plain: Buffer.from(`${marker}\n${'secret minutes of the meeting. '.repeat(lines)}`), marker };
}

const REGISTER = 'const r = await window.register(args); if (!r.ok) throw new Error(r.message);';
const URL_OF = 'return window.handles[window.handles.length - 1].encryptedMediaUrl(args.file, args.options);';

async function signedIn(d: PageDriver, homeserver: Homeserver): Promise<string> {
  Object.assign(homeserver.config, { rangeSupport: false, mediaCacheControl: 'no-cache' });
  const token = homeserver.register('alice', 'pw');
  await d.run(REGISTER, { homeserverUrl: homeserver.url, accessToken: token });
  return token;
}

export const encryptedUrl = (d: PageDriver, file: EncryptedFile, options: Record<string, string>) => d.run<string>(URL_OF, { file, options });

/** Fetches `url` in the page: status, headers that matter, and the body as base64. */
function fetchInPage(d: PageDriver, url: string) {
  return d.run<{ status: number; type: string | null; disposition: string | null; body: string }>(
    `const r = await fetch(args);
     const bytes = new Uint8Array(await r.arrayBuffer());
     let binary = ''; for (const b of bytes) binary += String.fromCharCode(b);
     return { status: r.status, type: r.headers.get('Content-Type'), disposition: r.headers.get('Content-Disposition'), body: btoa(binary) };`,
    url,
  );
}

const mediaGets = (homeserver: Homeserver, from = 0) => homeserver.log.slice(from).filter((r) => r.method === 'GET' && r.path.includes('/media/'));

/** Every IndexedDB record and Cache Storage body of the origin, as one latin1 string to search. */
export function everythingStored(d: PageDriver): Promise<string> {
  return d.run(`
    const out = [];
    // Blobs (the store keeps large chunks as Blobs) are read whole: a scan that skipped them would find nothing in them.
    const text = async (value) => {
      if (value instanceof Blob) value = await value.arrayBuffer();
      if (value instanceof ArrayBuffer) value = new Uint8Array(value);
      if (ArrayBuffer.isView(value)) { let s = ''; const b = new Uint8Array(value.buffer, value.byteOffset, value.byteLength); for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]); return s; }
      if (Array.isArray(value)) return (await Promise.all(value.map(text))).join(' ');
      if (value && typeof value === 'object') return (await Promise.all(Object.values(value).map(text))).join(' ') + ' ' + Object.keys(value).join(' ');
      return String(value);
    };
    for (const { name } of await indexedDB.databases()) {
      const db = await new Promise((ok, fail) => { const r = indexedDB.open(name); r.onsuccess = () => ok(r.result); r.onerror = () => fail(r.error); });
      for (const store of db.objectStoreNames) {
        const all = await new Promise((ok) => { const r = db.transaction(store).objectStore(store).getAll(); r.onsuccess = () => ok(r.result); });
        for (const value of all) out.push(await text(value));
      }
      db.close();
    }
    for (const name of await caches.keys()) {
      const cache = await caches.open(name);
      for (const request of await cache.keys()) out.push(await text(await (await cache.match(request)).arrayBuffer()));
    }
    return out.join('\\n');`);
}

export const encryptedScenarios: Scenario[] = [
  {
    title: 'an encrypted image, its thumbnail and a file are shown and downloaded under their names, with no key in any URL',
    async run({ driver: d, homeserver }) {
      await signedIn(d, homeserver);
      const image = await uploadEncrypted(homeserver, samplePng(64, 48, 1));
      const thumbnail = await uploadEncrypted(homeserver, samplePng(16, 12, 2));
      const text = markedText();
      const document = await uploadEncrypted(homeserver, text.plain);
      const imageUrl = await encryptedUrl(d, image.file, { mimetype: 'image/png', filename: 'holiday.png' });
      const thumbUrl = await encryptedUrl(d, thumbnail.file, { mimetype: 'image/png' });
      const docUrl = await encryptedUrl(d, document.file, { mimetype: 'application/x-minutes', filename: 'minutes.txt' });
      for (const [url, file] of [[imageUrl, image.file], [thumbUrl, thumbnail.file], [docUrl, document.file]] as const) {
        assert.ok(!url.includes(file.key.k) && !url.includes(file.iv) && !url.includes(encodeURIComponent(file.iv)), `no key material in ${url}`);
      }
      assert.deepEqual(await d.run('return window.loadImage(args);', imageUrl), { ok: true, width: 64, height: 48 });
      assert.deepEqual(await d.run('return window.loadImage(args);', thumbUrl), { ok: true, width: 16, height: 12 });
      const saved = await fetchInPage(d, docUrl);
      assert.equal(saved.status, 200);
      assert.equal(saved.type, 'application/x-minutes');
      assert.equal(saved.disposition, `attachment; filename="minutes.txt"; filename*=UTF-8''minutes.txt`);
      assert.equal(Buffer.from(saved.body, 'base64').toString(), text.plain.toString());
      const photo = await fetchInPage(d, imageUrl);
      assert.equal(photo.disposition, `inline; filename="holiday.png"; filename*=UTF-8''holiday.png`);
      assert.ok(Buffer.from(photo.body, 'base64').equals(image.plain));
    },
  },
  {
    title: 'an encrypted image and text file opened in a new tab show decrypted, as "Open in new tab" does',
    async run({ driver: d, app, homeserver }) {
      await signedIn(d, homeserver);
      const image = await uploadEncrypted(homeserver, samplePng(37, 19, 7));
      const text = markedText();
      const document = await uploadEncrypted(homeserver, text.plain);
      const imageUrl = await encryptedUrl(d, image.file, { mimetype: 'image/png', filename: 'holiday.png' });
      const textUrl = await encryptedUrl(d, document.file, { mimetype: 'text/plain', filename: 'minutes.txt' });
      // Each in another tab of the app: the worker has the keys the first tab gave it.
      const opened = async (url: string) => {
        const tab = await d.newTab(`${app.url}/index.html`);
        await tab.navigate(url);
        return tab;
      };
      const imageTab = await opened(imageUrl);
      // The browser's own image document: the picture, decrypted and decoded.
      assert.equal(await until(() => imageTab.run<number | null>('return document.querySelector("img")?.naturalWidth ?? null;'), (w) => w === 37), 37);
      const textTab = await opened(textUrl);
      const shown = await until(() => textTab.run<string>('return document.body?.innerText ?? "";'), (t) => t.includes(text.marker));
      assert.ok(shown.startsWith(text.marker), `the decrypted text, from its first byte: ${JSON.stringify(shown.slice(0, 120))}`);
    },
  },
  {
    title: 'an encrypted video plays and seeks; after a reload it all loads again with no request to the homeserver',
    async run({ driver: d, homeserver, note }) {
      const token = await signedIn(d, homeserver);
      const video = await uploadEncrypted(homeserver, VIDEO);
      const image = await uploadEncrypted(homeserver, samplePng(40, 30, 3));
      const src = await encryptedUrl(d, video.file, { mimetype: 'video/webm', filename: 'clip.webm' });
      assert.deepEqual(await d.run(PLAY_AND_SEEK, { src, at: 0.9 }), { loaded: 'loadedmetadata', seeked: 'seeked', at: 27, played: true });
      assert.equal((await d.run<{ ok: boolean }>('return window.loadImage(args);', await encryptedUrl(d, image.file, { mimetype: 'image/png' }))).ok, true);
      await untilStored(d, video.file.url, video.ciphertextBytes);
      const sent = mediaGets(homeserver).reduce((sum, r) => sum + r.bytes, 0);
      note(`the homeserver sent ${sent} bytes for a ${video.ciphertextBytes}-byte video and a small image`);
      assert.ok(sent <= (video.ciphertextBytes + image.ciphertextBytes) * 1.05, `sent ${sent} bytes`);

      const before = homeserver.log.length;
      await d.reload();
      await d.run(REGISTER, { homeserverUrl: homeserver.url, accessToken: token });
      const again = await encryptedUrl(d, video.file, { mimetype: 'video/webm', filename: 'clip.webm' });
      assert.equal(again, src, 'the same URL after a reload');
      assert.deepEqual(await d.run(PLAY_AND_SEEK, { src: again, at: 0.5 }), { loaded: 'loadedmetadata', seeked: 'seeked', at: 15, played: true });
      assert.deepEqual(mediaGets(homeserver, before), [], 'no request to the homeserver after the reload');
    },
  },
  {
    title: 'a room of 600 encrypted images shown at once: every one of them decodes',
    async run({ driver: d, homeserver }) {
      await signedIn(d, homeserver);
      // Each check hashes as the bytes arrive; 600 at once once ran Chromium's worker out of
      // WebAssembly memory, and about one image in four stayed broken.
      const images = await Promise.all(Array.from({ length: 600 }, (_, i) => uploadEncrypted(homeserver, samplePng(24, 16, i))));
      const shown = await d.run<Array<{ ok: boolean; width: number }>>(
        `const handle = window.handles[window.handles.length - 1];
         return Promise.all(args.map((file) => window.loadImage(handle.encryptedMediaUrl(file, { mimetype: 'image/png' }))));`,
        images.map((image) => image.file),
      );
      const broken = shown.flatMap((image, i) => (image.ok && image.width === 24 ? [] : [i]));
      assert.deepEqual(broken, [], `${broken.length} of 600 images broken`);
    },
  },
  {
    title: 'a tampered ciphertext shows nothing, and its response carries no plaintext',
    async run({ driver: d, homeserver }) {
      await signedIn(d, homeserver);
      const text = markedText();
      const bad = await uploadEncrypted(homeserver, text.plain, true);
      const url = await encryptedUrl(d, bad.file, { mimetype: 'text/plain' });
      const response = await fetchInPage(d, url);
      assert.equal(response.status, 502);
      const body = Buffer.from(response.body, 'base64').toString();
      assert.equal(JSON.parse(body).errcode, 'MMS_HASH_MISMATCH');
      assert.ok(!body.includes(text.marker));
      const image = await uploadEncrypted(homeserver, samplePng(20, 20, 4), true);
      assert.deepEqual(await d.run('return window.loadImage(args);', await encryptedUrl(d, image.file, { mimetype: 'image/png' })), { ok: false, width: 0, height: 0 });
      assert.deepEqual(await storeContents(d), []);
    },
  },
  {
    title: 'no IndexedDB database or Cache Storage entry of the origin ever holds a key or plaintext; signOut leaves no ciphertext and the URLs stop serving',
    async run({ driver: d, homeserver }) {
      await signedIn(d, homeserver);
      // Over 64 KiB, so that its chunk is stored as a Blob where the browser's IndexedDB takes
      // them: the scan must find the ciphertext inside it.
      const text = markedText(3_000);
      const document = await uploadEncrypted(homeserver, text.plain);
      const url = await encryptedUrl(d, document.file, { mimetype: 'text/plain', filename: 'minutes.txt' });
      assert.equal((await fetchInPage(d, url)).status, 200);
      await untilStored(d, document.file.url, document.ciphertextBytes);
      const stored = await everythingStored(d);
      assert.ok(stored.includes(document.ciphertext.toString('latin1')), 'the scan sees the stored ciphertext');
      const rawKey = Buffer.from(document.file.key.k, 'base64url').toString('latin1');
      for (const [what, secret] of [['the key', document.file.key.k], ['the raw key', rawKey], ['the IV', document.file.iv], ['plaintext', text.marker]] as const) {
        assert.ok(!stored.includes(secret), `${what} found in storage`);
      }
      await d.run('await window.handles[window.handles.length - 1].signOut();');
      assert.deepEqual(await storeContents(d), []);
      assert.notEqual((await fetchInPage(d, url)).status, 200);
    },
  },
];
