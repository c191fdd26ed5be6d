import { IDBFactory, IDBObjectStore } from 'fake-indexeddb';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { MediaStore } from '../../../sw/store/mediaStore.js';
import type { StoredFile } from '../../../sw/store/storedFile.js';
import { GROW_AFTER_MS } from '../../../sw/store/storeRoom.js';

// The room the store finds by writing: what a full disk (or Chromium's reserve) refuses.
beforeEach(() => {
  globalThis.indexedDB = new IDBFactory();
  vi.restoreAllMocks();
});

let now = 0;
const file = (key: string, size: number, sessionId = 's1'): StoredFile => ({ key, sessionId, size, stored: 0, headers: {}, lastUsed: 0 });
const chunk = (n: number, fill: number) => ({ pieces: [new Uint8Array(n).fill(fill)], size: n });
/** A store whose quota says a gigabyte, as Chromium's does on any disk. */
const newStore = () => new MediaStore({ chunkBytes: 4, quota: async () => 2 ** 30, now: () => now });

/** The disk refuses the next write with `name`, as IndexedDB does when it has no room. */
function diskRefusesNextWrite(name = 'QuotaExceededError'): void {
  vi.spyOn(IDBObjectStore.prototype, 'put').mockImplementationOnce(() => {
    throw new DOMException('The disk is full.', name);
  });
}

async function storeFiles(store: MediaStore, ...keys: string[]): Promise<void> {
  for (const key of keys) {
    now += 1;
    await store.writeChunks(file(key, 4), 0, [chunk(4, 1)], new Set());
  }
}

describe('the room the store finds by writing', () => {
  beforeEach(() => {
    now = 1_000;
  });

  it('a write the disk refuses lowers the limit to half of what the store held; the least recently used go, and the write is tried again where it then fits', async () => {
    const store = newStore();
    await storeFiles(store, 'a', 'b', 'c', 'd');
    expect(await store.limitBytes('s1')).toBe(Math.floor(2 ** 30 / 10));
    diskRefusesNextWrite();
    await store.writeChunks(file('e', 4), 0, [chunk(4, 5)], new Set());
    // 16 bytes held when the disk said full: 8 are the store's now, 8 were left to the app.
    expect(await store.limitBytes('s1')).toBe(8);
    expect(store.list().map((f) => f.key)).toEqual(['d', 'e']);
    expect(store.usage('s1')).toEqual({ files: 2, bytes: 8 });
  });

  it('a file larger than the room found no longer goes to the store, also after a restart', async () => {
    const store = newStore();
    await storeFiles(store, 'a', 'b');
    diskRefusesNextWrite('UnknownError');
    await expect(store.writeChunks(file('big', 12), 0, [chunk(4, 1), chunk(4, 2), chunk(4, 3)], new Set())).rejects.toMatchObject({ name: 'QuotaExceededError' });
    expect(await store.limitBytes('s1')).toBe(4);
    expect(await store.fits('s1', 12)).toBe(false);
    expect(await store.fits('s1', 4)).toBe(true);
    const restarted = newStore();
    expect(await restarted.limitBytes('s1')).toBe(4);
    expect(await restarted.fits('s1', 12)).toBe(false);
  });

  it('grows again only by writes that succeed, once GROW_AFTER_MS have passed; a refused one lowers it again', async () => {
    const store = newStore();
    await storeFiles(store, 'a', 'b');
    diskRefusesNextWrite();
    await expect(store.writeChunks(file('big', 8), 0, [chunk(4, 1), chunk(4, 2)], new Set())).rejects.toMatchObject({ name: 'QuotaExceededError' });
    expect(await store.limitBytes('s1')).toBe(4);
    now += GROW_AFTER_MS - 1;
    expect(await store.fits('s1', 8)).toBe(false);
    now += 1;
    // Long enough: the store tries, and the disk takes it.
    expect(await store.fits('s1', 8)).toBe(true);
    await store.writeChunks(file('big', 8), 0, [chunk(4, 1), chunk(4, 2)], new Set());
    expect(await store.limitBytes('s1')).toBe(12);
    // Refused again: half of what it held.
    diskRefusesNextWrite();
    await expect(store.writeChunks(file('more', 20), 0, [chunk(4, 1), chunk(4, 1), chunk(4, 1), chunk(4, 1), chunk(4, 1)], new Set())).rejects.toMatchObject({ name: 'QuotaExceededError' });
    expect(await store.limitBytes('s1')).toBe(6);
    expect(store.usedBytes()).toBeLessThanOrEqual(6);
  });

  it("an app's explicit storeBytes still rules its session; sessions on the default follow the room", async () => {
    const store = newStore();
    await store.setLimit('s1', 100);
    await storeFiles(store, 'a', 'b');
    diskRefusesNextWrite();
    await store.writeChunks(file('c', 4), 0, [chunk(4, 3)], new Set());
    expect(await store.limitBytes('s1')).toBe(100);
    expect(await store.limitBytes('s2')).toBe(4);
  });

  it('a download being written keeps its bytes while it runs, and leaves the store once it has ended (fit)', async () => {
    const store = newStore();
    await storeFiles(store, 'a');
    await store.writeChunks(file('video', 12), 0, [chunk(4, 1)], new Set(['video']));
    diskRefusesNextWrite();
    await expect(store.writeChunks({ ...file('video', 12), stored: 4 }, 1, [chunk(4, 2)], new Set(['video']))).rejects.toMatchObject({ name: 'QuotaExceededError' });
    expect(store.list().map((f) => f.key)).toEqual(['video']);
    expect(await store.limitBytes('s1')).toBe(4);
    await store.fit('s1', new Set(['video']));
    expect(store.list().map((f) => f.key)).toEqual(['video']);
    await store.fit('s1', new Set());
    expect(store.usedBytes()).toBeLessThanOrEqual(4);
  });
});
