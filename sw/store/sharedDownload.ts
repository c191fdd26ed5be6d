import { ChunkQueue, viewOf, type Chunk } from './chunkQueue.js';
import { HeldInMemory, MEMORY_HELD_BYTES } from './heldInMemory.js';
import type { MemoryBudget } from './memoryBudget.js';
import { readRange, type Fallback } from './rangeReader.js';
import type { MediaStore } from './mediaStore.js';
import type { StoredFile } from './storedFile.js';
import { BODY_IDLE_TIMEOUT_MS, readWithin } from '../upstream/readBody.js';

/**
 * One download, many readers. The homeserver ignores Range, so every seek would download the
 * file again from its start; instead one upstream download per session and file feeds the store,
 * and every request that wants bytes of the file reads them: from the store where they are kept,
 * from memory where they have just arrived, or by waiting for them. A file the store keeps is
 * never held whole in memory: at most the chunks on their way to the disk. One it does not keep
 * (no-store, too large for its limit, or no room left on the disk) is held in memory for its
 * view (HeldInMemory) and let go once nobody has read it for LINGER_MS.
 */

/** How long a download that nobody reads goes on (or a file held in memory stays), so that a seek finds its bytes. */
export const LINGER_MS = 5_000;
const PROGRESS_INTERVAL_MS = 250;

export interface Progress {
  loaded: number;
  total: number;
}

/** Where a download keeps its chunks: the media store. */
export type ChunkStore = Pick<MediaStore, 'chunkBytes' | 'writeChunks' | 'readChunk' | 'touch' | 'deleteCopy'>;

export interface DownloadOptions {
  store: ChunkStore;
  /** Holds what arrives in memory, not in the store (a no-store file, or one the store has no room for). */
  inMemory?: boolean;
  /** The most bytes held in memory when the store fails a write part way (MEMORY_HELD_BYTES by default). */
  memoryBytes?: number;
  /**
   * The worker's one bound on memory for files: what this download holds is taken from it (by
   * its opener, for `inMemory`: `heldBytes`) and given back when the bytes go. Absent: no bound.
   */
  memory?: MemoryBudget;
  /** Bytes the opener took from `memory` for an `inMemory` download. */
  heldBytes?: number;
  /** The file's record: what is stored so far (`stored`), its size and headers. */
  file: StoredFile;
  /** Files being downloaded now, which eviction must leave alone. */
  busy: () => ReadonlySet<string>;
  onProgress?: (progress: Progress) => void;
  /** Called once the download has ended, however it ended. */
  onEnd?: () => void;
  lingerMs?: number;
  /** How long the upstream body may send nothing before the download fails. */
  idleMs?: number;
}

/** 'held': the whole file has arrived, part of it in memory, kept for the view's later reads. */
type State = 'idle' | 'running' | 'held' | 'done' | 'stopped' | 'failed';

export class SharedDownload {
  readonly key: string;
  readonly size: number;
  private file: StoredFile;
  private state: State = 'idle';
  /** The chunk being filled: its index, bytes and how many have arrived. */
  private current: Chunk | undefined;
  /** Full chunks not yet in the store, readable from memory until they are. */
  private readonly queue: ChunkQueue;
  /** Chunks kept in memory instead of the store, for this view. */
  private held: HeldInMemory | undefined;
  /** What this download has taken from the worker's memory bound, given back when `held` goes. */
  private heldBytes: number;
  /** Bytes from the file's start that are stored or held: what has arrived and been put away. */
  private kept: number;
  private readers = 0;
  private lingerTimer: ReturnType<typeof setTimeout> | undefined;
  private wake: Array<() => void> = [];
  private upstream: ReadableStreamDefaultReader<Uint8Array> | undefined;
  private lastProgress = 0;
  private pumping = false;
  /** Settles when the download has ended; the fetch event waits for it, so the worker lives on. */
  readonly finished: Promise<void>;
  private finish!: () => void;

  constructor(private readonly options: DownloadOptions) {
    this.file = options.file;
    this.key = options.file.key;
    this.size = options.file.size;
    this.kept = options.file.stored;
    this.held = options.inMemory ? new HeldInMemory() : undefined;
    this.heldBytes = options.inMemory ? (options.heldBytes ?? 0) : 0;
    this.finished = new Promise((resolve) => (this.finish = resolve));
    this.queue = new ChunkQueue({
      write: (index, chunks) => this.put(index, chunks),
      written: (last) => {
        this.kept = last.index * options.store.chunkBytes + last.size;
        this.reportProgress();
        this.notify();
      },
      failed: () => this.end('failed'),
      active: () => this.state === 'running',
    });
    if (this.file.stored >= this.size) this.end('done');
  }

  get running(): boolean {
    return this.state === 'running';
  }

  /** Whether the whole file has arrived and part of it is held in memory, for its view's later reads. */
  get heldForView(): boolean {
    return this.state === 'held';
  }

  /** The headers to answer with, kept from the upstream response. */
  get headers(): Record<string, string> {
    return this.file.headers;
  }

  /** Bytes stored so far (a prefix of the file). */
  get stored(): number {
    return this.file.stored;
  }

  /** What ended the download, when it failed (a broken or silent connection, a store error). */
  failure: unknown;

  /** Which copy of the file in the store this download reads and writes (see StoredFile.generation). */
  get generation(): string | undefined {
    return this.file.generation;
  }

  /**
   * Feeds the store from `body`, whose first byte is byte `offset` of the file. Bytes already
   * stored are skipped, not written again (a server that ignores Range sends from the start).
   */
  start(body: ReadableStream<Uint8Array>, offset: number): void {
    this.state = 'running';
    this.upstream = body.getReader();
    this.lingerIfUnread();
    this.pumping = true;
    void this.pump(offset)
      .catch((error: unknown) => {
        this.failure ??= error;
        this.end('failed');
      })
      // Settled only once no write is under way any more: what the store holds is final then.
      .finally(() => {
        this.pumping = false;
        this.finish();
      });
  }

  /**
   * The bytes of a file stored whole in one chunk, read at once; undefined where it is not (or
   * its chunk is missing). A gallery's images are such files, and a stream per image (pulls,
   * readers, their promises) cost more of the worker's time than reading and decrypting them.
   */
  async storedWhole(): Promise<Uint8Array | undefined> {
    if (this.running || this.size === 0 || this.file.stored < this.size || this.size > this.options.store.chunkBytes) return undefined;
    return this.bytesAt(0, this.size - 1);
  }

  /** A stream of bytes `start` to `end` (inclusive); `fallback` serves what this download cannot. */
  read(start: number, end: number, fallback: Fallback): ReadableStream<Uint8Array> {
    this.readers += 1;
    clearTimeout(this.lingerTimer);
    const left = () => {
      this.readers -= 1;
      this.lingerIfUnread();
    };
    return readRange({ bytesAt: (position, to) => this.bytesAt(position, to), left }, start, end, fallback);
  }

  /** Stops the download now, and lets go what it holds (sign-out, a failed check); `finished` settles once its last write has. */
  stop(): void {
    if (this.state !== 'running' && this.state !== 'held') return;
    this.end('stopped');
  }

  /**
   * Puts chunks away: in the store, or in memory. A store that fails a write (no room on the
   * disk, no room within its limit, no store at all) sends this and the rest of the download to
   * memory, where the bound allows: the view goes on from the one download.
   */
  private async put(index: number, chunks: Chunk[]): Promise<void> {
    if (!this.held) {
      try {
        await this.options.store.writeChunks(this.file, index, chunks, this.options.busy());
        const last = chunks.at(-1)!;
        this.file = { ...this.file, stored: last.index * this.options.store.chunkBytes + last.size };
        return;
      } catch (error) {
        const rest = this.size - this.file.stored;
        if (this.state !== 'running' || rest > (this.options.memoryBytes ?? MEMORY_HELD_BYTES)) throw error;
        if (!(this.options.memory?.take(rest, this.file.sessionId) ?? true)) throw error;
        this.heldBytes = rest;
        this.held = new HeldInMemory();
      }
    }
    this.held.put(index, chunks);
  }

  /** The next bytes from `position` on (at most to `end`), waiting for them while they are coming. */
  private async bytesAt(position: number, end: number): Promise<Uint8Array | undefined> {
    const chunkBytes = this.options.store.chunkBytes;
    for (;;) {
      const index = Math.floor(position / chunkBytes);
      const chunkStart = index * chunkBytes;
      for (const inMemory of [this.current, this.queue.find(index)]) {
        if (inMemory && inMemory.index === index && position < chunkStart + inMemory.filled) {
          // A view, not a copy: pieces that have arrived never change.
          return viewOf(inMemory, position - chunkStart, Math.min(inMemory.filled, end + 1 - chunkStart));
        }
      }
      const held = this.held?.get(index);
      if (held) return held.subarray(position - chunkStart, Math.min(held.byteLength, end + 1 - chunkStart));
      if (position < this.file.stored) {
        // Only a chunk of this copy of the file: one stored after a deletion is another's bytes.
        const chunk = await this.options.store.readChunk(this.key, index, this.file);
        const expected = Math.min(chunkBytes, this.size - chunkStart);
        if (!chunk || chunk.byteLength !== expected) {
          // A corrupt or missing entry: drop the file (unless it is another copy already), and
          // let the fallback serve this reader.
          await this.options.store.deleteCopy(this.key, this.file.generation).catch(() => undefined);
          this.file = { ...this.file, stored: 0 };
          return undefined;
        }
        this.options.store.touch(this.key);
        return chunk.subarray(position - chunkStart, Math.min(chunk.byteLength, end + 1 - chunkStart));
      }
      if (this.state !== 'running') return undefined;
      await new Promise<void>((resolve) => this.wake.push(resolve));
    }
  }

  private async pump(offset: number): Promise<void> {
    const chunkBytes = this.options.store.chunkBytes;
    let position = offset;
    const reader = this.upstream!;
    while (this.state === 'running') {
      const { done, value } = await readWithin(reader, this.options.idleMs ?? BODY_IDLE_TIMEOUT_MS);
      // A body that ends short of its length was cut (Firefox may say so with a plain end): a
      // broken connection like any other, so that readers carry on through a new download.
      // What arrived whole is still written (below), as for any body that ends.
      if (done && position < this.size && this.state === 'running') this.failure ??= new TypeError(`The body ended after ${position} of ${this.size} bytes.`);
      if (done || this.state !== 'running') break;
      let from = 0;
      while (from < value.byteLength && this.state === 'running') {
        if (position < this.file.stored) {
          // Already stored: skip, never rewrite.
          const skip = Math.min(value.byteLength - from, this.file.stored - position);
          from += skip;
          position += skip;
          continue;
        }
        const index = Math.floor(position / chunkBytes);
        if (!this.current || this.current.index !== index) {
          this.current = { index, pieces: [], size: Math.min(chunkBytes, this.size - index * chunkBytes), filled: 0 };
        }
        const current = this.current;
        const take = Math.min(value.byteLength - from, current.size - current.filled);
        // The network's own bytes, not a copy: assembling 1 MiB chunks took a tenth of the
        // worker's time on a fast download, most of it allocating them.
        current.pieces.push(from === 0 && take === value.byteLength ? value : value.subarray(from, from + take));
        current.filled += take;
        from += take;
        position += take;
        this.notify();
        if (current.filled === current.size) {
          this.current = undefined;
          // The disk sets the pace once the queue is full; memory holds at most QUEUED_CHUNKS + 1.
          await this.queue.push(current);
        }
      }
    }
    await this.queue.settled();
    this.end(this.kept >= this.size ? 'done' : this.state === 'running' ? 'failed' : this.state);
  }

  private lingerIfUnread(): void {
    if (this.readers > 0 || (this.state !== 'running' && this.state !== 'held')) return;
    clearTimeout(this.lingerTimer);
    this.lingerTimer = setTimeout(() => {
      if (this.readers === 0) this.end(this.state === 'held' ? 'done' : 'stopped');
    }, this.options.lingerMs ?? LINGER_MS);
  }

  private end(state: State): void {
    if (this.state === 'done' || this.state === 'stopped' || this.state === 'failed') return;
    if (state === 'done' && this.held && this.state === 'running') {
      // Whole, and partly in memory: kept for the view (a seek, a second element) until unread.
      this.state = 'held';
      this.current = undefined;
      this.reportProgress(true);
      this.notify();
      this.lingerIfUnread();
      if (!this.pumping) this.finish();
      return;
    }
    this.state = state;
    clearTimeout(this.lingerTimer);
    void this.upstream?.cancel().catch(() => undefined);
    this.current = undefined;
    this.held = undefined;
    this.options.memory?.give(this.heldBytes, this.file.sessionId);
    this.heldBytes = 0;
    this.queue.clear();
    this.reportProgress(true);
    this.notify();
    this.options.onEnd?.();
    if (!this.pumping) this.finish();
  }

  private notify(): void {
    const waiting = this.wake;
    this.wake = [];
    for (const resolve of waiting) resolve();
  }

  private reportProgress(final = false): void {
    if (!this.options.onProgress) return;
    const now = Date.now();
    if (!final && now - this.lastProgress < PROGRESS_INTERVAL_MS) return;
    this.lastProgress = now;
    this.options.onProgress({ loaded: this.kept, total: this.size });
  }
}
