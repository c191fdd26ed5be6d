import { IDBDatabase, IDBFactory, IDBObjectStore } from 'fake-indexeddb';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { MediaStore } from '../../../sw/store/mediaStore.js';
import type { StoredFile } from '../../../sw/store/storedFile.js';
import { BLOB_BYTES, chunkValue } from '../../../sw/store/storedChunk.js';

// Each test gets its own IndexedDB; a "restart" is a new MediaStore on the same database.
beforeEach(() => {
  globalThis.indexedDB = new IDBFactory();
  vi.restoreAllMocks();
});

const file = (key: string, size: number, sessionId = 's1'): StoredFile => ({ key, sessionId, size, stored: 0, headers: { 'Content-Type': 'video/webm' }, lastUsed: 0 });
const bytes = (n: number, fill: number) => new Uint8Array(n).fill(fill);
/** A chunk as a download hands it to the store: what arrived, in one piece. */
const chunk = (n: number, fill: number) => ({ pieces: [bytes(n, fill)], size: n });

/** Writes `record` whole, chunk by chunk, as a download does. */
async function storeWhole(store: MediaStore, record: StoredFile): Promise<void> {
  for (let index = 0; index * store.chunkBytes < record.size; index++) {
    const length = Math.min(store.chunkBytes, record.size - index * store.chunkBytes);
    await store.writeChunks({ ...record, stored: index * store.chunkBytes }, index, [chunk(length, index + 1)], new Set());
  }
}

/** A new MediaStore on the same database, its index read: what a restarted worker finds. */
async function reopened(): Promise<MediaStore> {
  const store = new MediaStore({ chunkBytes: 4 });
  await store.ready();
  return store;
}

describe('MediaStore', () => {
  it('keeps chunks and the stored length together, and its index survives a restart', async () => {
    const store = new MediaStore({ chunkBytes: 4, quota: async () => 1e9 });
    await store.writeChunks(file('a', 10), 0, [chunk(4, 1)], new Set());
    await store.writeChunks({ ...file('a', 10), stored: 4 }, 1, [chunk(4, 2)], new Set());
    expect((await store.get('a'))?.stored).toBe(8);
    const restarted = new MediaStore({ chunkBytes: 4, quota: async () => 1e9 });
    expect(await restarted.get('a')).toMatchObject({ stored: 8, size: 10, headers: { 'Content-Type': 'video/webm' } });
    expect(await restarted.readChunk('a', 1)).toEqual(bytes(4, 2));
    expect(await restarted.readChunk('a', 2)).toBeUndefined();
  });

  it('reads chunks that an earlier version stored as bytes rather than Blobs', async () => {
    const store = new MediaStore({ chunkBytes: 4, quota: async () => 1e9 });
    await store.writeChunks(file('a', 8), 0, [chunk(4, 1)], new Set());
    const db = await new Promise<IDBDatabase>((resolve) => {
      const open = indexedDB.open('matrix-media-sw-store');
      open.onsuccess = () => resolve(open.result as unknown as IDBDatabase);
    });
    await new Promise((resolve) => {
      const tx = db.transaction(['chunks', 'files'], 'readwrite');
      tx.objectStore('chunks').put(bytes(4, 2), ['a', 1]);
      tx.objectStore('chunks').put(bytes(4, 3).buffer, ['a', 0]);
      tx.objectStore('files').put({ ...file('a', 8), stored: 8 });
      tx.oncomplete = resolve;
    });
    db.close();
    const restarted = new MediaStore({ chunkBytes: 4, quota: async () => 1e9 });
    expect(await restarted.readChunk('a', 0)).toEqual(bytes(4, 3));
    expect(await restarted.readChunk('a', 1)).toEqual(bytes(4, 2));
  });

  it('evicts the least recently used files first, never one being downloaded', async () => {
    let now = 0;
    const store = new MediaStore({ chunkBytes: 4, now: () => now, quota: async () => 1e9 });
    await store.setLimit('s1', 12);
    for (const key of ['a', 'b', 'c']) {
      now += 1;
      await storeWhole(store, file(key, 4));
    }
    now += 1;
    store.touch('a');
    // d needs room: b is the least recently used, then c; a was just used.
    now += 1;
    await storeWhole(store, file('d', 4));
    expect(store.list().map((f) => f.key).sort()).toEqual(['a', 'c', 'd']);
    // A download in progress is never evicted, even when it is the oldest.
    now += 1;
    await store.writeChunks(file('e', 4), 0, [chunk(4, 9)], new Set(['c']));
    expect(store.list().map((f) => f.key).sort()).toEqual(['c', 'd', 'e']);
    expect(await new MediaStore({ chunkBytes: 4 }).readChunk('a', 0)).toBeUndefined();
  });

  it('writes the use and freshness of many files in one transaction, and they survive a restart', async () => {
    let now = 0;
    const store = new MediaStore({ chunkBytes: 4, now: () => now, quota: async () => 1e9 });
    const keys = Array.from({ length: 40 }, (_, i) => `f${i}`);
    for (const key of keys) await storeWhole(store, { ...file(key, 4), generation: `g-${key}` });
    const transactions = vi.spyOn(IDBDatabase.prototype, 'transaction');
    now = 1_000;
    for (const key of keys) store.touch(key);
    store.renew('f0', 'g-f0', { checkedAt: 900, freshMs: 60_000, mustRevalidate: false });
    // Another copy's freshness is not this copy's.
    store.renew('f1', 'another copy', { checkedAt: 900, freshMs: 60_000, mustRevalidate: false });
    await vi.waitFor(async () => {
      const records = (await reopened()).list();
      expect(records.filter((f) => f.lastUsed === 1_000)).toHaveLength(40);
    });
    const writes = transactions.mock.calls.filter(([, mode]) => mode === 'readwrite');
    expect(writes.length).toBeLessThanOrEqual(2);
    const restarted = await reopened();
    expect((await restarted.get('f0'))).toMatchObject({ checkedAt: 900, freshMs: 60_000, stored: 4 });
    expect((await restarted.get('f1'))?.checkedAt).toBeUndefined();
  });

  it('never passes off the bytes of a copy stored after a deletion as the copy a reader knew', async () => {
    const store = new MediaStore({ chunkBytes: 4, quota: async () => 1e9 });
    await store.writeChunks({ ...file('a', 4), generation: 'first' }, 0, [chunk(4, 1)], new Set());
    const reading = store.readChunk('a', 0, { generation: 'first' });
    const replaced = store.delete('a').then(() => store.writeChunks({ ...file('a', 4), generation: 'second' }, 0, [chunk(4, 2)], new Set()));
    // The first copy's bytes, read before the deletion, or nothing: never the second copy's.
    expect([undefined, JSON.stringify(bytes(4, 1))]).toContain(((r) => r && JSON.stringify(r))(await reading));
    await replaced;
    expect(await store.readChunk('a', 0, { generation: 'first' })).toBeUndefined();
    expect(await store.readChunk('a', 0, { generation: 'second' })).toEqual(bytes(4, 2));
  });

  it('refuses a chunk that no eviction can make room for', async () => {
    const store = new MediaStore({ chunkBytes: 4, quota: async () => 1e9 });
    await store.setLimit('s1', 6);
    await store.writeChunks(file('a', 8), 0, [chunk(4, 1)], new Set());
    await expect(store.writeChunks({ ...file('a', 8), stored: 4 }, 1, [chunk(4, 2)], new Set())).rejects.toMatchObject({ name: 'QuotaExceededError' });
    expect((await store.get('a'))?.stored).toBe(4);
  });

  it('writes made at the same time share one transaction', async () => {
    const store = new MediaStore({ chunkBytes: 4, quota: async () => 1e9 });
    await store.ready();
    const transaction = vi.spyOn(IDBDatabase.prototype, 'transaction');
    const readwrite = () => transaction.mock.calls.filter(([, mode]) => mode === 'readwrite').length;
    await Promise.all(['a', 'b', 'c', 'd'].map((key, i) => store.writeChunks(file(key, 4), 0, [chunk(4, i + 1)], new Set())));
    expect(readwrite()).toBe(1);
    for (const [i, key] of ['a', 'b', 'c', 'd'].entries()) {
      expect((await store.get(key))?.stored).toBe(4);
      expect(await store.readChunk(key, 0)).toEqual(bytes(4, i + 1));
    }
    const restarted = new MediaStore({ chunkBytes: 4 });
    expect((await restarted.get('d'))?.stored).toBe(4);
  });

  it('signing a session out leaves nothing of it, even a file whose first bytes were being committed', async () => {
    const store = new MediaStore({ chunkBytes: 4, quota: async () => 1e9 });
    await store.ready();
    const writes = ['a', 'b', 'c'].map((key) => store.writeChunks(file(key, 4, 's1'), 0, [chunk(4, 1)], new Set()).catch((error: unknown) => error));
    const other = store.writeChunks(file('x', 4, 's2'), 0, [chunk(4, 9)], new Set());
    await new Promise((resolve) => setTimeout(resolve, 0));
    await store.deleteSession('s1');
    await Promise.all(writes);
    await other;
    expect(store.list().map((f) => f.key)).toEqual(['x']);
    const restarted = new MediaStore({ chunkBytes: 4 });
    expect((await restarted.ready()) && restarted.list().map((f) => f.key)).toEqual(['x']);
    for (const key of ['a', 'b', 'c']) expect(await restarted.readChunk(key, 0)).toBeUndefined();
  });

  it('the default limit is the smaller of 1 GiB and a tenth of the quota', async () => {
    expect(await new MediaStore({ quota: async () => 5e9 }).limitBytes()).toBe(5e8);
    expect(await new MediaStore({ quota: async () => 1e12 }).limitBytes()).toBe(2 ** 30);
  });

  it('deletes a session\'s files and nothing else', async () => {
    const store = new MediaStore({ chunkBytes: 4, quota: async () => 1e9 });
    await storeWhole(store, file('a', 4, 'alice'));
    await storeWhole(store, file('b', 4, 'bob'));
    await store.deleteSession('alice');
    const restarted = new MediaStore({ chunkBytes: 4 });
    expect((await restarted.ready()) && restarted.list().map((f) => f.key)).toEqual(['b']);
    expect(await restarted.readChunk('a', 0)).toBeUndefined();
  });

  it('says why when IndexedDB cannot be opened, and serves nothing', async () => {
    globalThis.indexedDB = { open: () => { throw new DOMException('The operation is insecure.', 'SecurityError'); } } as unknown as IDBFactory;
    const store = new MediaStore();
    expect(await store.ready()).toBe(false);
    expect(store.unavailable).toMatch(/^SecurityError/);
    expect(await store.get('a')).toBeUndefined();
  });

  it('keeps a large chunk as a Blob of its pieces, a small one as exactly its bytes', async () => {
    const big = [new Uint8Array(BLOB_BYTES - 10).fill(1), new Uint8Array(10).fill(2)];
    const blob = chunkValue({ pieces: big, size: BLOB_BYTES }, true);
    expect(blob).toBeInstanceOf(Blob);
    expect(new Uint8Array(await (blob as Blob).arrayBuffer())).toEqual(Uint8Array.from([...big[0]!, ...big[1]!]));
    expect(chunkValue({ pieces: big, size: BLOB_BYTES }, false)).toEqual(Uint8Array.from([...big[0]!, ...big[1]!]));
    const whole = new Uint8Array([1, 2, 3]);
    expect(chunkValue({ pieces: [whole], size: 3 }, true)).toBe(whole);
    // A view into a larger buffer is copied: stored as it is, the buffer round it would be stored too.
    const view = new Uint8Array([9, 9, 4, 5, 9]).subarray(2, 4);
    const copied = chunkValue({ pieces: [view], size: 2 }, true) as Uint8Array;
    expect(copied).toEqual(new Uint8Array([4, 5]));
    expect(copied.buffer.byteLength).toBe(2);
    expect(chunkValue({ pieces: [new Uint8Array([1]), new Uint8Array([2, 3])], size: 3 }, true)).toEqual(new Uint8Array([1, 2, 3]));
  });

  it('stores large chunks as Blobs, and as bytes where IndexedDB fails every transaction with a Blob (WebKitGTK)', async () => {
    const size = 2 * BLOB_BYTES;
    const big = (fill: number) => ({ pieces: [bytes(BLOB_BYTES, fill), bytes(BLOB_BYTES, fill + 1)], size });
    const raw = async (key: string) => {
      const db = await new Promise<IDBDatabase>((resolve) => {
        const open = indexedDB.open('matrix-media-sw-store');
        open.onsuccess = () => resolve(open.result as unknown as IDBDatabase);
      });
      const value = await new Promise((resolve) => {
        const get = db.transaction('chunks').objectStore('chunks').get([key, 0]);
        get.onsuccess = () => resolve(get.result);
      });
      db.close();
      return value;
    };
    const store = new MediaStore({ chunkBytes: size, quota: async () => 1e9 });
    await store.writeChunks(file('a', size), 0, [big(1)], new Set());
    expect(await raw('a')).toBeInstanceOf(Blob);
    expect(await store.readChunk('a', 0)).toEqual(Uint8Array.from([...bytes(BLOB_BYTES, 1), ...bytes(BLOB_BYTES, 2)]));

    globalThis.indexedDB = new IDBFactory();
    const put = IDBObjectStore.prototype.put;
    vi.spyOn(IDBObjectStore.prototype, 'put').mockImplementation(function (this: IDBObjectStore, value: unknown, key?: IDBValidKey) {
      if (value instanceof Blob) throw new DOMException('Blobs are not stored here.', 'DataError');
      return put.call(this, value, key);
    });
    const refusing = new MediaStore({ chunkBytes: size, quota: async () => 1e9 });
    await refusing.writeChunks(file('b', size), 0, [big(3)], new Set());
    expect(await raw('b')).toBeInstanceOf(Uint8Array);
    expect(await refusing.readChunk('b', 0)).toEqual(Uint8Array.from([...bytes(BLOB_BYTES, 3), ...bytes(BLOB_BYTES, 4)]));
    expect((await refusing.get('b'))?.stored).toBe(size);
  });
});
