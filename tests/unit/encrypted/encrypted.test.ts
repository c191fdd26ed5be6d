import { encryptAttachment } from 'matrix-encrypt-attachment';
import { describe, expect, it, vi } from 'vitest';
import { checkEncryptedFile, decodeBase64, encodeBase64, type EncryptedFile } from '../../../src/encryptedFile.js';
import { encryptedFileId } from '../../../src/encryptedFileId.js';
import { counterBlock, decryptAt, decryptStream, importAesKey } from '../../../sw/encrypted/decryptRange.js';
import { MediaStore } from '../../../sw/store/mediaStore.js';
import { EncryptionKeys } from '../../../sw/encrypted/encryptionKeys.js';
import type { StoredSession } from '../../../sw/session/sessionStore.js';
import { sha256 } from '../../../sw/encrypted/verifyHash.js';
import { createHash } from 'node:crypto';
import { HS, KEY, setup } from '../workerHarness.js';

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
const plaintextOf = (length: number): Uint8Array<ArrayBuffer> => Uint8Array.from({ length }, (_, i) => (i * 7 + 3) % 251);

/** Encrypts as the spec says, with WebCrypto, and any IV (older clients' IVs had a non-zero low half). */
async function encrypt(plain: Uint8Array<ArrayBuffer>, iv: Uint8Array<ArrayBuffer>): Promise<{ file: EncryptedFile; ciphertext: Uint8Array }> {
  const raw = crypto.getRandomValues(new Uint8Array(32));
  const key = await crypto.subtle.importKey('raw', raw, { name: 'AES-CTR' }, false, ['encrypt']);
  const ciphertext = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-CTR', counter: iv, length: 64 }, key, plain));
  const hash = new Uint8Array(await crypto.subtle.digest('SHA-256', ciphertext));
  const k = encodeBase64(raw).replace(/\+/g, '-').replace(/\//g, '_');
  return {
    ciphertext,
    file: { url: 'mxc://hs.example/secretFile', key: { kty: 'oct', key_ops: ['encrypt', 'decrypt'], alg: 'A256CTR', k, ext: true }, iv: encodeBase64(iv), hashes: { sha256: encodeBase64(hash) }, v: 'v2' },
  };
}

describe('counter arithmetic', () => {
  const iv = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 0, 0, 0, 0, 0]);
  it('adds the block index to the low 64 bits', () => {
    expect(hex(counterBlock(iv, 0))).toBe('01020304050607080000000000000000');
    expect(hex(counterBlock(iv, 65536))).toBe('01020304050607080000000000010000');
  });
  it('carries within the low half', () => {
    const nearCarry = Uint8Array.from([...iv.subarray(0, 8), 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]);
    expect(hex(counterBlock(nearCarry, 1))).toBe('01020304050607080000000100000000');
  });
  it('wraps at 2^64 without touching the high half', () => {
    const top = Uint8Array.from([...iv.subarray(0, 8), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe]);
    expect(hex(counterBlock(top, 1))).toBe('0102030405060708ffffffffffffffff');
    expect(hex(counterBlock(top, 2))).toBe('01020304050607080000000000000000');
    expect(hex(counterBlock(top, 5))).toBe('01020304050607080000000000000003');
  });
});

describe('decrypting any range', () => {
  // An old client's IV, two blocks before the low half wraps: ranges cross the wrap too.
  const iv = Uint8Array.from([9, 9, 9, 9, 9, 9, 9, 9, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe]);
  const plain = plaintextOf(100);
  it.each([
    [0, 99], [0, 0], [15, 16], [16, 31], [17, 33], [31, 47], [99, 99], [40, 99],
  ])('bytes %i to %i, at and across 16-byte block boundaries', async (start, end) => {
    const { file, ciphertext } = await encrypt(plain, iv);
    const key = await importAesKey(decodeBase64(file.key.k)!);
    expect([...(await decryptAt(key, iv, start, ciphertext.slice(start, end + 1)))]).toEqual([...plain.slice(start, end + 1)]);
  });
  it('decrypts a stream cut into pieces that end mid-block', async () => {
    const { file, ciphertext } = await encrypt(plain, iv);
    const key = await importAesKey(decodeBase64(file.key.k)!);
    const pieces = [ciphertext.slice(5, 12), ciphertext.slice(12, 13), ciphertext.slice(13, 50), ciphertext.slice(50, 100)];
    const stream = new ReadableStream<Uint8Array>({ start: (c) => (pieces.forEach((p) => c.enqueue(p)), c.close()) }).pipeThrough(decryptStream(key, iv, 5));
    const out: number[] = [];
    for await (const chunk of stream as unknown as AsyncIterable<Uint8Array>) out.push(...chunk);
    expect(out).toEqual([...plain.slice(5)]);
  });
});

describe('sha256', () => {
  it('keeps each check apart while many run at once, fed in turns', async () => {
    const files = Array.from({ length: 50 }, (_, i) => Uint8Array.from({ length: 1000 + i * 37 }, (_, j) => (i * 31 + j * 7) & 0xff));
    const hashers = await Promise.all(files.map(() => sha256()));
    // Interleaved: a piece of every file, then the next piece of every file.
    for (let from = 0; from < 3000; from += 100) files.forEach((file, i) => from < file.length && hashers[i]!.update(file.subarray(from, from + 100)));
    const digests = hashers.map((hasher) => Buffer.from(hasher.digest()).toString('hex'));
    expect(digests).toEqual(files.map((file) => createHash('sha256').update(file).digest('hex')));
  });
});

/** A session of no tab: a key it does not hold is asked of nobody. */
const aloneSession: StoredSession = { id: 's1', keyHash: '', homeserverUrl: HS, accessToken: 'tok', clientIds: [], updatedAt: 0 };

describe('checkEncryptedFile', () => {
  const valid = async () => (await encrypt(plaintextOf(10), new Uint8Array(16))).file;
  it('accepts a spec EncryptedFile and names it by its hash, without key material', async () => {
    const file = await valid();
    expect(checkEncryptedFile(file)).toEqual(file);
    const id = encryptedFileId(file);
    expect(id).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(id).not.toContain(file.key.k);
    expect(id).not.toContain(file.iv);
  });
  it("is the same id in the worker (WebCrypto) as in the page (@noble/hashes), and a wrong one is refused", async () => {
    const file = await valid();
    const keys = new EncryptionKeys(async () => undefined);
    expect(await keys.add('s1', encryptedFileId({ ...file, iv: encodeBase64(new Uint8Array(16).fill(1)) }), file, 'image/png')).toBe(false);
    expect(await keys.add('s1', encryptedFileId(file), file, 'image/png')).toBe(true);
    expect((await keys.find(aloneSession, encryptedFileId(file)))?.file).toEqual(file);
  });
  it('checks the id of a key once, not again each time a page load hands it over', async () => {
    const file = await valid();
    const keys = new EncryptionKeys(async () => undefined);
    const digest = vi.spyOn(crypto.subtle, 'digest');
    for (let load = 0; load < 3; load++) expect(await keys.add('s1', encryptedFileId(file), structuredClone(file), 'image/png')).toBe(true);
    expect(digest).toHaveBeenCalledTimes(1);
    // Another file under that id is still checked, and refused.
    expect(await keys.add('s1', encryptedFileId(file), { ...file, iv: encodeBase64(new Uint8Array(16).fill(2)) }, 'image/png')).toBe(false);
    expect(digest).toHaveBeenCalledTimes(2);
    digest.mockRestore();
  });
  it('does not take a key back in for a session signed out while its id was checked', async () => {
    const file = await valid();
    const keys = new EncryptionKeys(async () => undefined);
    const adding = keys.add('s1', encryptedFileId(file), file, 'image/png');
    keys.forget('s1');
    expect(await adding).toBe(false);
    // The session's pages are asked again (none answers here): the key is not held.
    expect(await keys.find(aloneSession, encryptedFileId(file))).toBeUndefined();
  });
  it.each([
    ['v', (f: any) => (f.v = 'v1')],
    ['url', (f: any) => (f.url = 'https://hs.example/x')],
    ['key', (f: any) => (f.key = 'k')],
    ['key.kty', (f: any) => (f.key.kty = 'RSA')],
    ['key.alg', (f: any) => (f.key.alg = 'A128CTR')],
    ['key.key_ops', (f: any) => (f.key.key_ops = ['encrypt'])],
    ['key.k', (f: any) => (f.key.k = f.key.k.slice(0, 20))],
    ['key.k', (f: any) => (f.key.k = '!!!')],
    ['iv', (f: any) => (f.iv = 'AAAA')],
    ['hashes.sha256', (f: any) => delete f.hashes.sha256],
    ['hashes.sha256', (f: any) => (f.hashes.sha256 = 'AAAA')],
  ])('names the field "%s" when it is wrong, and never quotes the key', async (field, spoil) => {
    const file = structuredClone(await valid());
    spoil(file);
    let error: any;
    try {
      checkEncryptedFile(file);
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ name: 'MediaSwError', code: 'invalid-encrypted-file' });
    expect(error.message).toContain(`"${field}"`);
    if (typeof file.key === 'object' && typeof file.key.k === 'string' && file.key.k.length > 3) expect(error.message).not.toContain(file.key.k);
  });
  it('refuses what is not an object', () => {
    expect(() => checkEncryptedFile(null)).toThrow(/"file"/);
  });
});

describe('handleMediaRequest: encrypted attachments', () => {
  async function served(plainLength: number, options: { tamper?: boolean; fixture?: 'matrix-encrypt-attachment' } = {}) {
    const plain = plaintextOf(plainLength);
    let ciphertext: Uint8Array;
    let file: EncryptedFile;
    if (options.fixture) {
      // An independent implementation (matrix-encrypt-attachment, on Node's own crypto).
      const out = await encryptAttachment(plain.buffer);
      ciphertext = new Uint8Array(out.data);
      file = { ...(out.info as unknown as EncryptedFile), url: 'mxc://hs.example/secretFile' };
    } else {
      ({ file, ciphertext } = await encrypt(plain, Uint8Array.from([7, 7, 7, 7, 7, 7, 7, 7, 0, 0, 0, 0, 0, 0, 0, 0])));
    }
    const sent = options.tamper ? Uint8Array.from(ciphertext, (b, i) => (i === 3 ? b ^ 1 : b)) : ciphertext;
    const t = setup({
      route: () => new Response(sent.slice(), { status: 200, headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(sent.length) } }),
      ask: (_client, message) => (message.type === 'mms/key-request' ? { type: 'mms/key-reply', file: null, mimetype: null } : undefined),
    });
    // Chunks of 4 KiB: small enough for ranges to cross them, few enough to write quickly.
    t.ctx.store = new MediaStore({ chunkBytes: 4096, quota: async () => undefined });
    await t.sessions.put({ id: 's1', key: KEY, homeserverUrl: HS, accessToken: 'tok' }, 'tab-1');
    const fileId = encryptedFileId(file);
    await t.ctx.keys.add('s1', fileId, checkEncryptedFile(file), 'video/webm');
    const url = `https://app.example/matrix-media-sw/s1/encrypted/${fileId}/clip.webm`;
    const get = (range?: string) => t.request(url, range ? { headers: { Range: range } } : {});
    return { t, plain, get, file, url };
  }
  const bytesOf = async (response: Response) => [...new Uint8Array(await response.arrayBuffer())];

  it('serves the plaintext whole and by range (open, suffix, across blocks), with the type and name the page gave', async () => {
    const { t, plain, get, url } = await served(1000);
    const whole = await get();
    expect([whole.status, whole.headers.get('Content-Type'), whole.headers.get('Content-Disposition')]).toEqual([200, 'video/webm', `inline; filename="clip.webm"; filename*=UTF-8''clip.webm`]);
    expect(whole.headers.get('X-Content-Type-Options')).toBe('nosniff');
    expect(await bytesOf(whole)).toEqual([...plain]);
    for (const [range, start, end] of [['bytes=15-16', 15, 16], ['bytes=990-', 990, 999], ['bytes=-7', 993, 999], ['bytes=33-900', 33, 900]] as const) {
      const part = await get(range);
      expect([part.status, part.headers.get('Content-Range')]).toEqual([206, `bytes ${start}-${end}/1000`]);
      expect(await bytesOf(part)).toEqual([...plain.slice(start, end + 1)]);
    }
    expect([(await get('bytes=1000-')).status]).toEqual([416]);
    // For a "Download" link: the same plaintext, as an attachment under the same name.
    const saved = await t.request(`${url}?attachment=true`);
    expect([saved.status, saved.headers.get('Content-Disposition')]).toEqual([200, `attachment; filename="clip.webm"; filename*=UTF-8''clip.webm`]);
    expect(await bytesOf(saved)).toEqual([...plain]);
    await t.settled();
    expect(t.mediaSeen().map((s) => [s.url, s.authorization])).toEqual([[`${HS}/_matrix/client/v1/media/download/hs.example/secretFile`, 'Bearer tok']]);
  });

  it('ranges asked for while the file is being checked are decrypted from the checked bytes: one download', async () => {
    const { t, plain, get } = await served(1000);
    const ranges = [['bytes=0-', 0, 999], ['bytes=15-16', 15, 16], ['bytes=17-31', 17, 31], ['bytes=-1', 999, 999], ['bytes=500-515', 500, 515]] as const;
    const parts = await Promise.all(ranges.map(([range]) => get(range)));
    for (const [i, [, start, end]] of ranges.entries()) {
      expect([parts[i]!.status, parts[i]!.headers.get('Content-Range'), parts[i]!.headers.get('Content-Length')]).toEqual([206, `bytes ${start}-${end}/1000`, String(end - start + 1)]);
      expect(await bytesOf(parts[i]!)).toEqual([...plain.slice(start, end + 1)]);
    }
    await t.settled();
    expect(t.mediaSeen()).toHaveLength(1);
  });

  it('decrypts files encrypted by matrix-encrypt-attachment to the original bytes', async () => {
    const { plain, get } = await served(70_001, { fixture: 'matrix-encrypt-attachment' });
    expect(await bytesOf(await get())).toEqual([...plain]);
    expect(await bytesOf(await get('bytes=65535-65560'))).toEqual([...plain.slice(65535, 65561)]);
  });

  it('a tampered ciphertext: an error that says so, no plaintext, and nothing left stored', async () => {
    const { t, plain, get } = await served(500, { tamper: true });
    const response = await get('bytes=0-');
    expect(response.status).toBe(502);
    const body = await response.text();
    expect(JSON.parse(body)).toMatchObject({ errcode: 'MMS_HASH_MISMATCH' });
    expect(body).not.toContain(String.fromCharCode(...plain.slice(0, 8)));
    await t.settled();
    expect(t.ctx.store.list()).toEqual([]);
  });

  it('with nothing stored (storeBytes 0), checks the file whole in memory and serves it; a tampered one is refused', async () => {
    const good = await served(3000);
    await good.t.ctx.store.setLimit('s1', 0);
    expect(await bytesOf(await good.get('bytes=100-199'))).toEqual([...good.plain.slice(100, 200)]);
    expect(good.t.ctx.store.list()).toEqual([]);
    const bad = await served(3000, { tamper: true });
    await bad.t.ctx.store.setLimit('s1', 0);
    expect((await bad.get()).status).toBe(502);
  });

  it('a key the worker does not hold and no page has: an error that says to open it from the app again', async () => {
    const { t } = await served(100);
    const response = await t.request('https://app.example/matrix-media-sw/s1/encrypted/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA');
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ errcode: 'MMS_UNKNOWN_KEY', error: expect.stringContaining('open it from the app again') });
    expect(t.asked).toContainEqual({ type: 'mms/key-request', sessionId: 's1', fileId: 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' });
  });
});
