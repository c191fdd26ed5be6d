import { IDBFactory } from 'fake-indexeddb';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { MediaStore } from '../../../sw/store/mediaStore.js';
import type { StoredFile } from '../../../sw/store/storedFile.js';
import type { Fallback } from '../../../sw/store/rangeReader.js';
import { SharedDownload } from '../../../sw/store/sharedDownload.js';

// One download, many readers, with 4-byte chunks so that every range crosses boundaries.
const FILE = Uint8Array.from({ length: 10 }, (_, i) => 100 + i);
let store: MediaStore;

beforeEach(() => {
  globalThis.indexedDB = new IDBFactory();
  store = new MediaStore({ chunkBytes: 4, quota: async () => 1e9 });
});

/** An upstream body the test feeds piece by piece. */
function upstream() {
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const body = new ReadableStream<Uint8Array>({ start: (c) => void (controller = c) });
  return {
    body,
    push: (from: number, to: number) => controller.enqueue(FILE.slice(from, to)),
    raw: (bytes: Uint8Array) => controller.enqueue(bytes),
    close: () => controller.close(),
  };
}

const record = (stored = 0): StoredFile => ({ key: 'k', sessionId: 's', size: FILE.length, stored, headers: {}, lastUsed: 0 });
const noFallback: Fallback = async () => {
  throw new Error('the network was asked');
};

async function readAll(stream: ReadableStream<Uint8Array>): Promise<number[]> {
  const out: number[] = [];
  for await (const chunk of stream as unknown as AsyncIterable<Uint8Array>) out.push(...chunk);
  return out;
}
const expected = (start: number, end: number) => [...FILE.slice(start, end + 1)];
const tick = () => new Promise((r) => setTimeout(r, 5));

/** A file of `length` bytes whose body gives one 4-byte chunk per pull, and never pulls ahead: `pulled()` is how far the download has read. */
function pulledOneByOne(length: number) {
  const file = Uint8Array.from({ length }, (_, i) => i);
  let pulled = 0;
  const body = new ReadableStream<Uint8Array>(
    {
      pull: (controller) => {
        if (pulled * 4 >= file.length) return controller.close();
        controller.enqueue(file.slice(pulled * 4, ++pulled * 4));
      },
    },
    { highWaterMark: 0 },
  );
  return { file, body, pulled: () => pulled };
}

describe('SharedDownload', () => {
  it('serves ranges at and across chunk boundaries to readers that joined before the bytes came', async () => {
    const source = upstream();
    const download = new SharedDownload({ store, file: record(), busy: () => new Set(['k']) });
    download.start(source.body, 0);
    const readers = [[0, 9], [3, 4], [4, 7], [8, 9], [9, 9]].map(([s, e]) => readAll(download.read(s!, e!, noFallback)));
    for (const [from, to] of [[0, 3], [3, 5], [5, 10]]) {
      source.push(from!, to!);
      await tick();
    }
    source.close();
    expect(await Promise.all(readers)).toEqual([expected(0, 9), expected(3, 4), expected(4, 7), expected(8, 9), expected(9, 9)]);
    await download.finished;
    expect((await store.get('k'))?.stored).toBe(10);
  });

  it('stores what the network gave in pieces of any size byte for byte, and serves views of them while they arrive', async () => {
    const source = upstream();
    const download = new SharedDownload({ store, file: record(), busy: () => new Set(['k']) });
    download.start(source.body, 0);
    // Single bytes filling the first chunk, then one piece across the two next chunks' boundary.
    for (let i = 0; i < 3; i++) source.push(i, i + 1);
    await tick();
    const live = readAll(download.read(1, 6, noFallback));
    source.push(3, 10);
    source.close();
    expect(await live).toEqual(expected(1, 6));
    await download.finished;
    for (const index of [0, 1, 2]) expect(await store.readChunk('k', index)).toEqual(FILE.slice(index * 4, index * 4 + 4));
  });

  it('a reader that joins during the download waits only for the bytes it lacks; one after reads the store', async () => {
    const source = upstream();
    const download = new SharedDownload({ store, file: record(), busy: () => new Set(['k']) });
    download.start(source.body, 0);
    source.push(0, 6);
    await tick();
    const during = readAll(download.read(2, 8, noFallback));
    let done = false;
    void during.then(() => (done = true));
    await tick();
    expect(done).toBe(false);
    source.push(6, 10);
    source.close();
    expect(await during).toEqual(expected(2, 8));
    await download.finished;
    const after = new SharedDownload({ store, file: (await store.get('k'))!, busy: () => new Set() });
    expect(await readAll(after.read(1, 9, noFallback))).toEqual(expected(1, 9));
  });

  it('while the store is slow, readers get queued chunks from memory; the network waits once eight are queued', async () => {
    const { file, body, pulled } = pulledOneByOne(48);
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const batches: number[] = [];
    const write = store.writeChunks.bind(store);
    store.writeChunks = async (...args) => {
      batches.push(args[2].length);
      await gate;
      return write(...args);
    };
    const download = new SharedDownload({ store, file: { ...record(), size: file.length }, busy: () => new Set(['k']) });
    download.start(body, 0);
    const reader = readAll(download.read(20, 27, noFallback));
    for (let i = 0; i < 10; i++) await tick();
    expect(pulled()).toBe(8);
    expect(await reader).toEqual([...file.slice(20, 28)]);
    expect((await store.get('k'))?.stored ?? 0).toBe(0);
    open();
    await download.finished;
    expect((await store.get('k'))?.stored).toBe(48);
    expect(Math.max(...batches)).toBe(4);
    const after = new SharedDownload({ store, file: (await store.get('k'))!, busy: () => new Set() });
    expect(await readAll(after.read(0, 47, noFallback))).toEqual([...file]);
  });

  it('the network goes on as soon as a batch is written, not once the whole queue is', async () => {
    const { file, body, pulled } = pulledOneByOne(64);
    // Each write waits until the test lets it through.
    const gates: Array<() => void> = [];
    const write = store.writeChunks.bind(store);
    store.writeChunks = async (...args) => {
      await new Promise<void>((resolve) => gates.push(resolve));
      return write(...args);
    };
    const download = new SharedDownload({ store, file: { ...record(), size: file.length }, busy: () => new Set(['k']) });
    download.start(body, 0);
    for (let i = 0; i < 10; i++) await tick();
    expect(pulled()).toBe(8);
    expect(gates).toHaveLength(1);
    // The first batch is the one chunk queued when writing began; the next takes four.
    gates.shift()!();
    for (let i = 0; i < 10; i++) await tick();
    expect(pulled()).toBe(9);
    expect(gates).toHaveLength(1);
    gates.shift()!();
    for (let i = 0; i < 10; i++) await tick();
    // Four more chunks came while the third batch still waits for the disk.
    expect(pulled()).toBe(13);
    expect(gates).toHaveLength(1);
    while (pulled() < 16 || gates.length > 0) {
      gates.shift()?.();
      await tick();
    }
    await download.finished;
    expect((await store.get('k'))?.stored).toBe(64);
    expect(await store.readChunk('k', 15)).toEqual(file.slice(60, 64));
  });

  it('goes on for a while when nobody reads, then stops, keeping what it stored', async () => {
    const source = upstream();
    const download = new SharedDownload({ store, file: record(), busy: () => new Set(['k']), lingerMs: 30 });
    download.start(source.body, 0);
    const reader = download.read(0, 9, noFallback).getReader();
    source.push(0, 5);
    await reader.read();
    await reader.cancel();
    source.push(5, 9);
    await tick();
    expect(download.running).toBe(true);
    await download.finished;
    expect(download.running).toBe(false);
    expect((await store.get('k'))?.stored).toBe(8);
  });

  it('continues a file stored in part, skipping the bytes it has, and never rewrites them', async () => {
    const first = new SharedDownload({ store, file: record(), busy: () => new Set(['k']) });
    const partial = upstream();
    first.start(partial.body, 0);
    partial.push(0, 5);
    partial.close();
    await first.finished;
    expect((await store.get('k'))?.stored).toBe(4);
    // A server that ignores Range sends from the start again.
    const again = upstream();
    const second = new SharedDownload({ store, file: (await store.get('k'))!, busy: () => new Set(['k']) });
    second.start(again.body, 0);
    const all = readAll(second.read(0, 9, noFallback));
    // Zeros where the stored prefix is: they would show if the prefix were written again.
    again.raw(new Uint8Array(4));
    again.push(4, 10);
    again.close();
    expect(await all).toEqual(expected(0, 9));
    await second.finished;
    expect(await store.readChunk('k', 0)).toEqual(FILE.slice(0, 4));
  });

  it('a chunk missing from the store sends the reader to the network for the rest, and drops the file', async () => {
    const source = upstream();
    const download = new SharedDownload({ store, file: record(), busy: () => new Set(['k']) });
    download.start(source.body, 0);
    source.push(0, 10);
    source.close();
    await download.finished;
    await store.delete('k');
    const asked: Array<[number, number]> = [];
    const fallback: Fallback = async (start, end) => {
      asked.push([start, end]);
      return new ReadableStream({ start: (c) => (c.enqueue(FILE.slice(start, end + 1)), c.close()) });
    };
    const stale = new SharedDownload({ store, file: record(10), busy: () => new Set() });
    expect(await readAll(stale.read(2, 7, fallback))).toEqual(expected(2, 7));
    expect(asked).toEqual([[2, 7]]);
  });
});

describe('a download the store has no room for', () => {
  // Three chunks of 4 bytes: the disk takes the first.
  const LONGER = Uint8Array.from({ length: 12 }, (_, i) => 50 + i);
  const newStore = () => new MediaStore({ chunkBytes: 4, quota: async () => 2 ** 30 });
  const file = (key: string, size: number): StoredFile => ({ key, sessionId: 's', size, stored: 0, headers: {}, lastUsed: 0 });

  it('goes on in memory from the chunk the disk refused: every reader gets every byte from the one download, and a seek after the end too', async () => {
    const store = newStore();
    await store.ready();
    const refused = vi.spyOn(store, 'writeChunks');
    const download = new SharedDownload({ store, file: { ...file('v', LONGER.length), generation: 'g' }, busy: () => new Set(['v']), lingerMs: 30 });
    // The disk takes the first chunk, then refuses.
    let writes = 0;
    refused.mockImplementation(async (...args) => {
      writes += 1;
      if (writes > 1) throw new DOMException('The disk is full.', 'QuotaExceededError');
      return MediaStore.prototype.writeChunks.apply(store, args);
    });
    download.start(new ReadableStream({ start: (c) => (c.enqueue(LONGER.slice(0, 4)), c.enqueue(LONGER.slice(4, 9)), c.enqueue(LONGER.slice(9)), c.close()) }), 0);
    const first = readAll(download.read(0, 11, noFallback));
    expect(await first).toEqual([...LONGER]);
    await download.finished;
    expect((await store.get('v'))?.stored).toBe(4);
    // The view seeks once the file has arrived: from the store and memory, not the network.
    expect(await readAll(download.read(2, 10, noFallback))).toEqual([...LONGER.slice(2, 11)]);
    // Unread for lingerMs, the view is over and its memory let go.
    await new Promise((r) => setTimeout(r, 60));
    await expect(readAll(download.read(6, 7, noFallback))).rejects.toThrow('the network was asked');
  });

  it('fails as before where the rest would pass the memory bound', async () => {
    const store = newStore();
    await store.ready();
    vi.spyOn(store, 'writeChunks').mockRejectedValue(new DOMException('The disk is full.', 'QuotaExceededError'));
    const download = new SharedDownload({ store, file: file('v', LONGER.length), busy: () => new Set(['v']), memoryBytes: 8 });
    download.start(new ReadableStream({ start: (c) => (c.enqueue(LONGER), c.close()) }), 0);
    const reader = readAll(download.read(0, 11, async () => new ReadableStream({ start: (c) => (c.enqueue(LONGER.slice(4)), c.close()) })));
    expect(await reader).toEqual([...LONGER]);
    await download.finished;
    expect(download.running).toBe(false);
  });
});
