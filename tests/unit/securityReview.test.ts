import { IDBFactory } from 'fake-indexeddb';
import { createStore, entries, set } from 'idb-keyval';
import { describe, expect, it } from 'vitest';
import { checkEncryptedFile, encodeBase64, type EncryptedFile } from '../../src/encryptedFile.js';
import { encryptedFileId } from '../../src/encryptedFileId.js';
import { checkEncryptedMediaOptions } from '../../src/mediaUrl.js';
import { asPageToWorkerMessage, asReply } from '../../src/protocol.js';
import { askClient, clientInfo, type ClientInfo } from '../../sw/session/askClient.js';
import { classifyMediaUrl } from '../../sw/routing/classifyMediaUrl.js';
import { SessionFinder } from '../../sw/session/findSession.js';
import { MediaStore } from '../../sw/store/mediaStore.js';
import { networkFallback } from '../../sw/store/answer.js';
import { SessionStore } from '../../sw/session/sessionStore.js';
import { SharedDownload } from '../../sw/store/sharedDownload.js';
import { HS, KEY, setup } from './workerHarness.js';

/**
 * The security review's findings about downloads (issue 21: 1, 2 and 7), each shown against a
 * homeserver scripted request by request. Each test failed before its fix.
 */

const plaintextOf = (length: number): Uint8Array<ArrayBuffer> => Uint8Array.from({ length }, (_, i) => (i * 13 + 5) % 251);

async function encrypt(plain: Uint8Array<ArrayBuffer>): Promise<{ file: EncryptedFile; ciphertext: Uint8Array<ArrayBuffer> }> {
  const raw = crypto.getRandomValues(new Uint8Array(32));
  const iv = Uint8Array.from([3, 1, 4, 1, 5, 9, 2, 6, 0, 0, 0, 0, 0, 0, 0, 0]);
  const key = await crypto.subtle.importKey('raw', raw, { name: 'AES-CTR' }, false, ['encrypt']);
  const ciphertext = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-CTR', counter: iv, length: 64 }, key, plain));
  const hash = new Uint8Array(await crypto.subtle.digest('SHA-256', ciphertext));
  const k = encodeBase64(raw).replace(/\+/g, '-').replace(/\//g, '_');
  return { ciphertext, file: { url: 'mxc://hs.example/victim', key: { kty: 'oct', key_ops: ['encrypt', 'decrypt'], alg: 'A256CTR', k, ext: true }, iv: encodeBase64(iv), hashes: { sha256: encodeBase64(hash) }, v: 'v2' } };
}

/** What the scripted server does with the n-th download of the file (1-based). */
type Answer = { kind: 'honest' } | { kind: 'xor' } | { kind: 'drop'; after: number } | { kind: 'stall'; after: number } | { kind: 'no-length'; xor?: boolean };

function body(bytes: Uint8Array, answer: Answer): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    start(controller) {
      if (answer.kind === 'drop' || answer.kind === 'stall') {
        if (answer.after > 0) controller.enqueue(bytes.slice(0, answer.after));
        if (answer.kind === 'drop') controller.error(new TypeError('connection reset'));
        return;
      }
      for (let from = 0; from < bytes.length; from += 64 * 1024) controller.enqueue(bytes.slice(from, from + 64 * 1024));
      controller.close();
    },
  });
}

/** The worker against a server that answers the file's n-th download with `script(n)`; Range is ignored, as Synapse does. */
async function scripted(plainLength: number, script: (n: number) => Answer, options: { chunkBytes?: number; idleMs?: number } = {}) {
  const plain = plaintextOf(plainLength);
  const { file, ciphertext } = await encrypt(plain);
  const tampered = ciphertext.map((b) => b ^ 0x41);
  let downloads = 0;
  const t = setup({
    route: () => {
      const answer = script(++downloads);
      const bytes = answer.kind === 'xor' || (answer.kind === 'no-length' && answer.xor) ? tampered : ciphertext;
      const headers: Record<string, string> = { 'Content-Type': 'application/octet-stream' };
      if (answer.kind !== 'no-length') headers['Content-Length'] = String(bytes.length);
      return new Response(body(bytes, answer), { status: 200, headers });
    },
    ask: () => undefined,
  });
  t.ctx.store = new MediaStore({ chunkBytes: options.chunkBytes ?? 256 * 1024, quota: async () => undefined });
  if (options.idleMs !== undefined) t.ctx.bodyIdleMs = options.idleMs;
  await t.sessions.put({ id: 's1', key: KEY, homeserverUrl: HS, accessToken: 'tok' }, 'tab-1');
  const fileId = encryptedFileId(file);
  await t.ctx.keys.add('s1', fileId, checkEncryptedFile(file), 'video/webm');
  const url = `https://app.example/matrix-media-sw/s1/encrypted/${fileId}/clip.webm`;
  const get = (range?: string) => t.request(url, range ? { headers: { Range: range } } : {});
  const tamperedPlain = plain.map((b, i) => b ^ (ciphertext[i]! ^ tampered[i]!));
  /** The browser stops the worker and starts it again: a new store object over the same database, nothing in memory but the keys. */
  const restart = () => {
    t.ctx.store = new MediaStore({ chunkBytes: options.chunkBytes ?? 256 * 1024, quota: async () => undefined });
    t.ctx.verified.clear();
    t.ctx.downloads.clear();
    t.ctx.opening.clear();
  };
  return { t, plain, tamperedPlain, get, restart, file, fileId, downloads: () => downloads };
}

/** What an element gets: status and body, or the error that ended the body. */
async function outcome(response: Response): Promise<{ status: number; bytes?: Uint8Array; error?: string }> {
  try {
    return { status: response.status, bytes: new Uint8Array(await response.arrayBuffer()) };
  } catch (error) {
    return { status: response.status, error: String(error) };
  }
}

/** True when `bytes` are the plaintext of `from` onwards; false when they hold any byte of the tampered file there instead. */
function expectGenuine(result: { status: number; bytes?: Uint8Array }, plain: Uint8Array, tamperedPlain: Uint8Array, from = 0): void {
  if (result.status !== 200 && result.status !== 206) return;
  const bytes = result.bytes ?? new Uint8Array(0);
  const genuine = plain.subarray(from, from + bytes.length);
  const forged = tamperedPlain.subarray(from, from + bytes.length);
  expect(bytes.some((b, i) => b === forged[i] && b !== genuine[i]), 'no byte of plaintext chosen by the server').toBe(false);
  expect([...bytes]).toEqual([...genuine]);
}

// Megabytes through fake-indexeddb take a few seconds each.
describe('finding 1: plaintext only from the bytes that were hashed', { timeout: 30_000 }, () => {
  // The server of the review: the first download breaks at once, the next is honest, every later one is the ciphertext XOR 0x41.
  const dropHonestThenXor = (n: number): Answer => (n === 1 ? { kind: 'drop', after: 0 } : n === 2 ? { kind: 'honest' } : { kind: 'xor' });

  it.each([
    ['a 2 MiB file read whole', 2 * 1024 * 1024, undefined],
    ['a 2 MiB file read by range', 2 * 1024 * 1024, 'bytes=1048576-'],
    ['a 300 KiB file (checked in memory) read whole', 300 * 1024, undefined],
  ])('%s: the genuine plaintext or an error, never bytes of a later download', async (_, length, range) => {
    const { t, plain, tamperedPlain, get, restart } = await scripted(length, dropHonestThenXor);
    const from = range ? 1024 * 1024 : 0;
    const first = await outcome(await get(range));
    // The broken download is started again once: the element gets the file.
    expect(first.status).toBe(range ? 206 : 200);
    expectGenuine(first, plain, tamperedPlain, from);
    for (let i = 0; i < 3; i++) expectGenuine(await outcome(await get(range)), plain, tamperedPlain, from);
    await t.settled();
    // After the worker is started again over the same store: the stored copy, checked again.
    restart();
    const again = await outcome(await get(range));
    expect(again.status).toBe(range ? 206 : 200);
    expectGenuine(again, plain, tamperedPlain, from);
  });

  it('a download that breaks mid-way is started again once from what is stored, and the element gets the genuine file', async () => {
    const { t, plain, tamperedPlain, get, downloads } = await scripted(2 * 1024 * 1024, (n) => (n === 1 ? { kind: 'drop', after: 300 * 1024 } : n === 2 ? { kind: 'honest' } : { kind: 'xor' }));
    const first = await outcome(await get());
    expect(first.status).toBe(200);
    expectGenuine(first, plain, tamperedPlain);
    for (const range of ['bytes=0-', 'bytes=1500000-', undefined]) expectGenuine(await outcome(await get(range)), plain, tamperedPlain, range === 'bytes=1500000-' ? 1500000 : 0);
    await t.settled();
    expect(downloads()).toBe(2);
  });

  it('a reader joining mid-download reads that download only: when it breaks, the file is checked anew, and a tampered one refused', async () => {
    const { t, plain, tamperedPlain, get } = await scripted(2 * 1024 * 1024, (n) => (n === 1 ? { kind: 'stall', after: 512 * 1024 } : { kind: 'xor' }), { idleMs: 200 });
    const responses = await Promise.all([get(), get('bytes=1048576-')]);
    for (const response of responses) {
      const result = await outcome(response);
      expectGenuine(result, plain, tamperedPlain, response.status === 206 ? 1048576 : 0);
      expect(result.status).toBe(502);
    }
    await t.settled();
  });

  it('a stored copy deleted and downloaded again is checked again: the second copy, tampered, is refused', async () => {
    const { t, plain, tamperedPlain, get } = await scripted(2 * 1024 * 1024, (n) => (n === 1 ? { kind: 'honest' } : { kind: 'xor' }));
    expectGenuine(await outcome(await get()), plain, tamperedPlain);
    await t.settled();
    const key = t.ctx.store.list()[0]!.key;
    await t.ctx.store.delete(key);
    const second = await outcome(await get());
    expect(second.status).toBe(502);
    expectGenuine(await outcome(await get('bytes=0-')), plain, tamperedPlain);
  });
});

describe('finding 2: a download that falls back to the network never hangs', { timeout: 30_000 }, () => {
  const FILE = Uint8Array.from({ length: 10 }, (_, i) => 100 + i);

  it('a reader at the live edge when the upstream connection drops gets the rest from the fallback', async () => {
    globalThis.indexedDB = new IDBFactory();
    const store = new MediaStore({ chunkBytes: 4, quota: async () => 1e9 });
    const download = new SharedDownload({ store, file: { key: 'k', sessionId: 's', size: 10, stored: 0, headers: {}, lastUsed: 0 }, busy: () => new Set(['k']) });
    let controller!: ReadableStreamDefaultController<Uint8Array>;
    download.start(new ReadableStream<Uint8Array>({ start: (c) => void (controller = c) }), 0);
    controller.enqueue(FILE.slice(0, 6));
    const reader = download.read(0, 9, async (from, to) => new Response(FILE.slice(from, to + 1)).body!);
    const out: number[] = [];
    const pieces = reader.getReader();
    out.push(...(await pieces.read()).value!);
    controller.error(new TypeError('connection reset'));
    for (;;) {
      const { done, value } = await pieces.read();
      if (done) break;
      out.push(...value);
    }
    expect(out).toEqual([...FILE]);
  });

  it('an upstream body that stops sending ends the download with an error after the idle time, and the check is forgotten', async () => {
    const { t, plain, get, downloads } = await scripted(2 * 1024 * 1024, (n) => (n <= 2 ? { kind: 'stall', after: 300 * 1024 } : { kind: 'honest' }), { idleMs: 100 });
    const stalled = await get();
    expect(stalled.status).toBe(502);
    expect(await stalled.json()).toMatchObject({ errcode: 'MMS_DOWNLOAD_FAILED', error: expect.stringContaining('TimeoutError') });
    // Forgotten: the next request downloads and checks again, and gets the file.
    const next = await outcome(await get());
    expect(next.status).toBe(200);
    expect([...next.bytes!]).toEqual([...plain]);
    await t.settled();
    expect(downloads()).toBe(3);
  });
});

describe('finding 7: ciphertext without a Content-Length', () => {
  it('is hashed as it streams, served, and stored: the next request needs no download', async () => {
    const { t, plain, get, downloads } = await scripted(200 * 1024, () => ({ kind: 'no-length' }));
    const first = await outcome(await get());
    expect(first.status).toBe(200);
    expect([...first.bytes!]).toEqual([...plain]);
    await t.settled();
    const second = await outcome(await get('bytes=1000-1999'));
    expect([second.status, [...second.bytes!]]).toEqual([206, [...plain.slice(1000, 2000)]]);
    expect(downloads()).toBe(1);
  });

  it('tampered, it is refused with the hash error, not blamed on storeBytes', async () => {
    const { get } = await scripted(200 * 1024, () => ({ kind: 'no-length', xor: true }));
    const response = await get();
    expect(response.status).toBe(502);
    expect(await response.json()).toMatchObject({ errcode: 'MMS_HASH_MISMATCH' });
  });
});

describe('finding 6: one event cannot poison another\'s attachment key', () => {
  it('an event that copies the hash with another url, key or IV gets an id of its own, and the real file is still served', async () => {
    const { t, plain, get, file, fileId: realId } = await scripted(1000, () => ({ kind: 'honest' }));
    const forgeries: EncryptedFile[] = [
      { ...file, url: 'mxc://hs.example/other' },
      { ...file, key: { ...file.key, k: encodeBase64(new Uint8Array(32)).replace(/\+/g, '-').replace(/\//g, '_') } },
      { ...file, iv: encodeBase64(new Uint8Array(16)) },
    ];
    const ids = forgeries.map(encryptedFileId);
    expect(new Set([realId, ...ids]).size).toBe(4);
    // A fresh worker meets the forgeries first.
    t.ctx.keys.forget('s1');
    for (const [i, forged] of forgeries.entries()) expect(await t.ctx.keys.add('s1', ids[i]!, forged, 'text/html')).toBe(true);
    expect(await t.ctx.keys.add('s1', realId, file, 'video/webm')).toBe(true);
    const response = await get();
    expect([response.status, response.headers.get('Content-Type')]).toEqual([200, 'video/webm']);
    expect([...new Uint8Array(await response.arrayBuffer())]).toEqual([...plain]);
  });

  it('the id reveals neither url, key, IV nor hash, in any encoding', async () => {
    const { file } = await encrypt(plaintextOf(10));
    const id = encryptedFileId(file);
    const forms = (base64: string) => [base64, base64.replace(/\+/g, '-').replace(/\//g, '_'), Buffer.from(base64, 'base64').toString('hex')];
    for (const secret of [...forms(file.key.k.replace(/-/g, '+').replace(/_/g, '/')), ...forms(file.iv), ...forms(file.hashes.sha256), 'victim']) {
      expect(id.toLowerCase()).not.toContain(secret.toLowerCase().slice(0, 12));
    }
    expect(id).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });
});

describe('finding 5: a crafted type is never served inline', () => {
  it.each([
    ['image/png', 'image/png', 'inline'],
    ['IMAGE/PNG ; name="a;b"', 'image/png', 'inline'],
    ['text/plain; charset=UTF-8', 'text/plain; charset=utf-8', 'inline'],
    ['image/png;a, text/html', 'application/octet-stream', 'attachment'],
    ['text/plain;x, image/svg+xml', 'application/octet-stream', 'attachment'],
    ['image/png, text/html', 'application/octet-stream', 'attachment'],
    ['text/html', 'text/html', 'attachment'],
    ['image/svg+xml', 'image/svg+xml', 'attachment'],
    ['image/png;x="a,b"', 'application/octet-stream', 'attachment'],
    ['image/ png', 'application/octet-stream', 'attachment'],
    ['image/png;', 'application/octet-stream', 'attachment'],
    ['image/png; a=b c', 'application/octet-stream', 'attachment'],
    ['', 'application/octet-stream', 'attachment'],
  ])('upstream Content-Type %j is served as %j, %s', async (upstream, served, disposition) => {
    const t = setup({ route: () => new Response('bytes', { status: 200, headers: { 'Content-Type': upstream, 'Content-Length': '5' } }) });
    await t.sessions.put({ id: 's1', key: KEY, homeserverUrl: HS, accessToken: 'tok' }, 'tab-1');
    const response = await t.request('https://app.example/matrix-media-sw/s1/download/hs.example/abc');
    expect([response.headers.get('Content-Type'), response.headers.get('Content-Disposition')]).toEqual([served, disposition]);
  });

  it('an error body in HTML is an attachment too', async () => {
    const t = setup({ route: () => new Response('<script>alert(1)</script>', { status: 500, headers: { 'Content-Type': 'text/html' } }) });
    await t.sessions.put({ id: 's1', key: KEY, homeserverUrl: HS, accessToken: 'tok' }, 'tab-1');
    const response = await t.request('https://app.example/matrix-media-sw/s1/download/hs.example/abc');
    expect([response.status, response.headers.get('Content-Disposition')]).toEqual([500, 'attachment']);
  });

  it('the page refuses such a mimetype, and the worker drops a key message that carries one', async () => {
    const { file } = await encrypt(plaintextOf(10));
    expect(() => checkEncryptedMediaOptions({ mimetype: 'image/png;a, text/html' })).toThrow(expect.objectContaining({ code: 'invalid-options' }));
    const message = asPageToWorkerMessage({ type: 'mms/keys', sessionId: 's1', key: KEY, files: [{ fileId: encryptedFileId(file), file, mimetype: 'text/plain;x, image/svg+xml' }, { fileId: encryptedFileId(file), file, mimetype: 'image/png' }] });
    expect(message).toMatchObject({ type: 'mms/keys', files: [{ mimetype: 'image/png' }] });
    expect(asReply({ type: 'mms/key-reply', file, mimetype: 'image/png, text/html' })).toBeUndefined();
  });
});

describe('finding 4: sessions are kept apart between tabs', () => {
  /** Alice's session in tab-a, Bob's in tab-b, one worker. */
  async function twoTabs(clients: Record<string, ClientInfo> = {}) {
    const { file, ciphertext } = await encrypt(plaintextOf(100));
    const t = setup({
      route: () => new Response(ciphertext.slice(), { status: 200, headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(ciphertext.length) } }),
      ask: (_, m) => (m.type === 'mms/session-request' ? { type: 'mms/session-reply', sessions: [] } : undefined),
      clients,
    });
    await t.sessions.put({ id: 'alice', key: KEY, homeserverUrl: HS, accessToken: 'alice-token' }, 'tab-a');
    await t.sessions.put({ id: 'bob', key: 'b'.repeat(32), homeserverUrl: HS, accessToken: 'bob-token' }, 'tab-b');
    const fileId = encryptedFileId(file);
    await t.ctx.keys.add('alice', fileId, checkEncryptedFile(file), 'text/plain');
    return { t, encryptedUrl: `https://app.example/matrix-media-sw/alice/encrypted/${fileId}/minutes.txt`, downloadUrl: 'https://app.example/matrix-media-sw/alice/download/hs.example/abc' };
  }

  it("Bob's tab gets 403 for Alice's encrypted and mediaUrl URLs: no plaintext, no request with her token, no key asked of her tab", async () => {
    const { t, encryptedUrl, downloadUrl } = await twoTabs();
    for (const url of [encryptedUrl, downloadUrl]) {
      const response = await t.request(url, { clientId: 'tab-b' });
      expect([response.status, (await response.json()).errcode]).toEqual([403, 'M_FORBIDDEN']);
    }
    expect(t.mediaSeen()).toEqual([]);
    expect(t.asked.filter((m) => m.type === 'mms/key-request')).toEqual([]);
    // Alice's own tab is served, and only her tab may hear of it.
    expect((await t.request(encryptedUrl, { clientId: 'tab-a' })).status).toBe(200);
    expect(t.traces.at(-1)!.audience).toEqual(['tab-a']);
  });

  it('a new tab opened on the URL, and the media document it shows, are served; a frame in it is not', async () => {
    const mediaDocument = { url: 'https://app.example/matrix-media-sw/alice/download/hs.example/abc', frameType: 'top-level' as const };
    const { t, downloadUrl } = await twoTabs({ 'new-tab': mediaDocument, framed: { ...mediaDocument, frameType: 'nested' }, 'bob-page': { url: 'https://app.example/', frameType: 'top-level' } });
    expect(await t.ctx.finder.find(classifyMediaUrl(new URL(downloadUrl), 'https://app.example/')!, { clientId: '', navigation: 'top-level' })).toMatchObject({ id: 'alice' });
    expect(await t.ctx.finder.find(classifyMediaUrl(new URL(downloadUrl), 'https://app.example/')!, { clientId: '', navigation: 'nested' })).toBe('forbidden');
    expect((await t.request(downloadUrl, { clientId: 'new-tab', headers: { Range: 'bytes=0-' } })).status).toBe(206);
    expect((await t.request(downloadUrl, { clientId: 'framed' })).status).toBe(403);
    expect((await t.request(downloadUrl, { clientId: 'bob-page' })).status).toBe(403);
  });

  it("a session's homeserverUrl never changes, and its key is not in storage", async () => {
    globalThis.indexedDB = new IDBFactory();
    const idb = createStore('matrix-media-sw', 'sessions');
    const sessions = new SessionStore(idb);
    expect(await sessions.put({ id: 's1', key: KEY, homeserverUrl: HS, accessToken: 'tok' }, 'tab-a')).toBeDefined();
    expect(await sessions.put({ id: 's1', key: KEY, homeserverUrl: 'https://evil.example', accessToken: 'tok' }, 'tab-a')).toBeUndefined();
    expect((await sessions.byId('s1'))?.homeserverUrl).toBe(HS);
    expect(JSON.stringify(await entries(idb))).not.toContain(KEY);
    // Still only the key's holder signs it out.
    expect(await sessions.remove('s1', 'x'.repeat(32))).toBe(false);
    expect(await sessions.remove('s1', KEY)).toBe(true);
  });

  it('a session stored by an earlier version, key and all, is read and written again without its key', async () => {
    globalThis.indexedDB = new IDBFactory();
    const idb = createStore('matrix-media-sw', 'sessions');
    await set('s1', { id: 's1', key: KEY, homeserverUrl: HS, accessToken: 'tok', clientIds: ['tab-a'], updatedAt: 1 }, idb);
    const sessions = new SessionStore(idb);
    expect(await sessions.holdsKey('s1', KEY)).toBe(true);
    expect(JSON.stringify(await entries(idb))).not.toContain(KEY);
  });
});

describe('finding 3: a navigation never waits for its own client', () => {
  it('asking a client that clients.get never returns gives up within the time limit', async () => {
    const saved = (globalThis as { self?: unknown }).self;
    (globalThis as { self?: unknown }).self = { clients: { get: () => new Promise(() => undefined) } };
    try {
      expect(await askClient('resulting-client', { type: 'mms/session-request' }, 50)).toBeUndefined();
      expect(await clientInfo('resulting-client', 50)).toBeUndefined();
    } finally {
      (globalThis as { self?: unknown }).self = saved;
    }
  });

  it('a navigation to a homeserver URL on the app origin asks no client: it is answered with the newest session', async () => {
    const never = new Promise<never>(() => undefined);
    const t = setup();
    t.ctx.finder = new SessionFinder(t.sessions, () => never, () => never);
    await t.sessions.put({ id: 's1', key: KEY, homeserverUrl: 'https://app.example', accessToken: 'tok' }, 'tab-a');
    const media = classifyMediaUrl(new URL('https://app.example/_matrix/media/v3/download/hs.example/abc'), 'https://app.example/')!;
    expect(await t.ctx.finder.find(media, { clientId: '', navigation: 'top-level' })).toMatchObject({ id: 's1' });
  });
});

describe("finding 8: one tab's storeBytes bounds its own session's media only", () => {
  const record = (key: string, sessionId: string) => ({ key, sessionId, size: 4, stored: 0, headers: {}, lastUsed: 0 });
  const chunk = (value: number) => ({ pieces: [new Uint8Array(4).fill(value)], size: 4 });

  it("storeBytes 0 from Bob's tab drops Bob's files, keeps Alice's, and stays Bob's after a restart", async () => {
    globalThis.indexedDB = new IDBFactory();
    const store = new MediaStore({ chunkBytes: 4, quota: async () => 1e9 });
    for (const [key, sessionId] of [['a1', 'alice'], ['a2', 'alice'], ['b1', 'bob']] as const) await store.writeChunks(record(key, sessionId), 0, [chunk(1)], new Set());
    await store.setLimit('bob', 0);
    expect(store.list().map((f) => f.key).sort()).toEqual(['a1', 'a2']);
    expect(await store.limitBytes('alice')).toBe(1e8);
    // Bob keeps nothing new; Alice still stores.
    await expect(store.writeChunks(record('b2', 'bob'), 0, [chunk(2)], new Set())).rejects.toMatchObject({ name: 'QuotaExceededError' });
    await store.writeChunks(record('a3', 'alice'), 0, [chunk(3)], new Set());
    const restarted = new MediaStore({ chunkBytes: 4, quota: async () => 1e9 });
    expect([await restarted.limitBytes('bob'), await restarted.limitBytes('alice')]).toEqual([0, 1e8]);
    // Signing Bob out forgets his limit too.
    await restarted.deleteSession('bob');
    expect(await new MediaStore({ chunkBytes: 4, quota: async () => 1e9 }).limitBytes('bob')).toBe(1e8);
  });

  it("a session's limit evicts its own least recently used files, never another's", async () => {
    globalThis.indexedDB = new IDBFactory();
    let now = 0;
    const store = new MediaStore({ chunkBytes: 4, quota: async () => 1e9, now: () => ++now });
    await store.writeChunks(record('a-old', 'alice'), 0, [chunk(1)], new Set());
    await store.setLimit('bob', 8);
    for (const key of ['b1', 'b2', 'b3']) await store.writeChunks(record(key, 'bob'), 0, [chunk(2)], new Set());
    expect(store.list().map((f) => f.key).sort()).toEqual(['a-old', 'b2', 'b3']);
  });
});

describe('finding 2: a plain file\'s network fallback has a time limit too', () => {
  it('a fallback body that stops sending ends the reader with a TimeoutError', async () => {
    globalThis.indexedDB = new IDBFactory();
    const store = new MediaStore({ chunkBytes: 4, quota: async () => 1e9 });
    const download = new SharedDownload({ store, file: { key: 'k', sessionId: 's', size: 10, stored: 0, headers: {}, lastUsed: 0 }, busy: () => new Set(['k']) });
    download.start(new ReadableStream<Uint8Array>({ start: (c) => c.error(new TypeError('connection reset')) }), 0);
    const silent = new ReadableStream<Uint8Array>({ start: (c) => c.enqueue(Uint8Array.of(1, 2)) });
    const fallback = networkFallback(async () => new Response(silent, { status: 200, headers: { 'Content-Length': '10' } }), 50);
    const reader = download.read(0, 9, fallback).getReader();
    expect((await reader.read()).value).toEqual(Uint8Array.of(1, 2));
    await expect(reader.read()).rejects.toMatchObject({ name: 'TimeoutError' });
  });
});
