import type { Freshness } from './freshness.js';
import { evictUntil, makeRoom, type Limits } from './eviction.js';
import { GroupCommit } from './groupCommit.js';
import { RecordUpdates } from './recordUpdates.js';
import { completion, request } from './idb.js';
import { StoreSettings } from './storeSettings.js';
import { estimatedQuota, isRoomError, StoreRoom } from './storeRoom.js';
import { BLOB_BYTES, chunkValue, lengthOf, readChunkValue, takesBlobs, type ChunkBytes } from './storedChunk.js';
import type { StoredFile } from './storedFile.js';

/**
 * Which bytes are kept: files the worker had to download whole (the homeserver ignored Range),
 * on disk, in chunks, per session, so that each file crosses the network once.
 *
 * IndexedDB rather than Cache Storage, measured with bench/storeBackends.ts (64 random 1 MiB
 * chunks in a dedicated worker, median of 3): writing four chunks per transaction, IndexedDB
 * wrote 210 MiB/s in Chromium and 155 in Firefox, Cache Storage 132 and 146 (one entry per
 * chunk); Cache Storage read faster (285 against 208 MiB/s in Chromium, 247 against 165 in
 * Firefox), but reads are not what a download waits for. What decides it is that IndexedDB
 * writes chunks and their file's record in one transaction: a worker stopped mid-write never
 * leaves a record that claims bytes it does not have.
 *
 * Only a prefix of each file is stored (`stored` bytes from its start): downloads run from the
 * start, or on from where the stored part ends. Plaintext of encrypted media never comes here.
 */

export const CHUNK_BYTES = 1 << 20;

export interface MediaStoreOptions {
  name?: string;
  chunkBytes?: number;
  now?: () => number;
  /** The storage quota, for the default limit; navigator.storage.estimate() by default. */
  quota?: () => Promise<number | undefined>;
  /** How long the store keeps to the room it found before trying for more (see StoreRoom). */
  growAfterMs?: number;
}

/** The store's own refusal: its limit leaves no room for these bytes. */
const noRoom = () => new DOMException('The store limit leaves no room for this file.', 'QuotaExceededError');

export class MediaStore {
  readonly chunkBytes: number;
  /** Why the store cannot be used (a private window, storage turned off), or null. */
  unavailable: string | null = null;
  /** Told of every file deleted (evicted, signed out, corrupt), so that what was known of it goes too. */
  onDelete: ((key: string) => void) | undefined;
  private readonly name: string;
  private readonly now: () => number;
  private readonly files = new Map<string, StoredFile>();
  private readonly writes = new GroupCommit((record) => this.files.set(record.key, record));
  private readonly updates = new RecordUpdates(() => this.database());
  private opened: Promise<IDBDatabase | undefined> | undefined;
  /** Each session's `storeBytes` and `storeMaxAgeMs`, where its registration gave them. */
  private readonly settings = new StoreSettings();
  /** The room the store found by writing, where it is less than the default limit. */
  private readonly room: StoreRoom;
  /** Databases closed for another's upgrade or deletion: their aborted writes say nothing of room. */
  private readonly closed = new WeakSet<IDBDatabase>();
  /** Whether the browser's IndexedDB takes Blobs: tried once, with the first large chunk. */
  private blobs: Promise<boolean> | undefined;

  constructor(options: MediaStoreOptions = {}) {
    this.name = options.name ?? 'matrix-media-sw-store';
    this.chunkBytes = options.chunkBytes ?? CHUNK_BYTES;
    this.now = options.now ?? Date.now;
    this.room = new StoreRoom(options.quota ?? estimatedQuota, this.now, options.growAfterMs);
  }

  /** Opens the database and reads the index once; resolves false where storage cannot be used. */
  async ready(): Promise<boolean> {
    this.opened ??= this.open();
    return (await this.opened) !== undefined;
  }

  private async open(): Promise<IDBDatabase | undefined> {
    try {
      const req = indexedDB.open(this.name, 1);
      req.onupgradeneeded = () => {
        req.result.createObjectStore('files', { keyPath: 'key' });
        req.result.createObjectStore('chunks');
        req.result.createObjectStore('meta');
      };
      const db = await request(req);
      // A page clearing the store (indexedDB.deleteDatabase) must not wait for this worker to stop.
      db.onversionchange = () => {
        this.closed.add(db);
        db.close();
        this.files.clear();
        this.opened = undefined;
      };
      const tx = db.transaction(['files', 'meta']);
      const [records, metaKeys, metaValues] = await Promise.all([
        request(tx.objectStore('files').getAll() as IDBRequest<StoredFile[]>),
        request(tx.objectStore('meta').getAllKeys()),
        request(tx.objectStore('meta').getAll() as IDBRequest<unknown[]>),
      ]);
      for (const file of records) this.files.set(file.key, file);
      this.settings.load(metaKeys, metaValues);
      this.room.load(metaKeys, metaValues);
      return db;
    } catch (error) {
      this.unavailable = error instanceof Error ? `${error.name}: ${error.message}` : 'IndexedDB cannot be opened';
      return undefined;
    }
  }

  /** The record of `key` if the index has been read; never waits (for requests that must not). */
  peek(key: string): StoredFile | undefined {
    void this.ready();
    return this.files.get(key);
  }

  async get(key: string): Promise<StoredFile | undefined> {
    await this.ready();
    return this.files.get(key);
  }

  /**
   * The most bytes kept for session `sessionId`: its `storeBytes`, else the default, the smallest
   * of 1 GiB, a tenth of the quota and the room the store found (StoreRoom). Without a session:
   * the most kept for the whole origin, the default or the largest session limit, whichever is
   * more. What `storeUsage()` reports.
   */
  async limitBytes(sessionId?: string): Promise<number> {
    return this.limitWithin('found', sessionId);
  }

  /** Whether a file of `bytes` may go to the store for session `sessionId` (else it is held in memory for its view). */
  async fits(sessionId: string, bytes: number): Promise<boolean> {
    return bytes <= (await this.limitWithin('enforced', sessionId));
  }

  /** The limit by the room `found`, or by the room `enforced` now (none while the store may try for more). */
  private async limitWithin(room: 'found' | 'enforced', sessionId?: string): Promise<number> {
    // The sessions' limits and the room found are read with the index.
    await this.ready();
    const byDefault = await this.room.defaultBytes(room);
    if (sessionId !== undefined) return this.settings.get('limit', sessionId) ?? byDefault;
    return Math.max(byDefault, ...this.settings.all('limit'));
  }

  /**
   * Sets session `sessionId`'s limit (its `storeBytes`), evicting its own least recently used
   * files until they fit. Another session's files are never evicted for it: one tab's
   * `storeBytes: 0` keeps nothing of its own and takes nothing from the others.
   */
  async setLimit(sessionId: string, bytes: number): Promise<void> {
    await this.settings.set(await this.database(), 'limit', sessionId, bytes);
    await makeRoom(this, 0, new Set(), sessionId, await this.limits(sessionId));
  }

  /** How long session `sessionId`'s files may be served without asking the server (its `storeMaxAgeMs`). */
  async maxAgeMs(sessionId: string): Promise<number> {
    await this.ready();
    return this.settings.get('max-age', sessionId) ?? Infinity;
  }

  async setMaxAge(sessionId: string, ms: number): Promise<void> {
    await this.settings.set(await this.database(), 'max-age', sessionId, ms);
  }

  /** How many files of session `sessionId` hold stored bytes, and how many bytes. */
  usage(sessionId: string): { files: number; bytes: number } {
    let files = 0;
    for (const file of this.files.values()) if (file.sessionId === sessionId && file.stored > 0) files += 1;
    return { files, bytes: this.usedBytes(sessionId) };
  }

  /** Bytes stored, of session `sessionId` or of every session. */
  usedBytes(sessionId?: string): number {
    let used = 0;
    for (const file of this.files.values()) if (sessionId === undefined || file.sessionId === sessionId) used += file.stored;
    return used;
  }

  /**
   * Stores consecutive chunks of `file`, the first at `index`, and the file's new stored length,
   * in one transaction (shared with other files' writes waiting at the same time: see
   * GroupCommit). Several chunks per transaction because each commit has a cost of its own:
   * four per transaction wrote 1.4× faster than one in Chromium, 1.2× in Firefox. Makes room
   * first by evicting the least recently used other files (never those in `keep`). A write the
   * browser refuses for lack of room lowers the store's limit to the room it found (StoreRoom),
   * and is tried once more if it then fits. Rejects when there is no room.
   */
  async writeChunks(file: StoredFile, index: number, arrived: readonly ChunkBytes[], keep: ReadonlySet<string>): Promise<void> {
    const db = await this.database();
    if (!db) throw new DOMException(this.unavailable ?? 'no store', 'InvalidStateError');
    const blobs = arrived.some((chunk) => chunk.size >= BLOB_BYTES) && (await (this.blobs ??= takesBlobs(db, 'meta')));
    const chunks = arrived.map((chunk) => chunkValue(chunk, blobs));
    const bytes = chunks.reduce((total, chunk) => total + lengthOf(chunk), 0);
    const record: StoredFile = { ...file, stored: index * this.chunkBytes + bytes, lastUsed: this.now() };
    const others = new Set([...keep, file.key]);
    if (!(await makeRoom(this, bytes, others, file.sessionId, await this.limits(file.sessionId)))) throw noRoom();
    for (let attempt = 0; ; attempt++) {
      try {
        await this.writes.commit(db, { record, index, chunks, bytes });
        this.room.wrote(() => this.usedBytes());
        return;
      } catch (error) {
        // Chromium aborts the writes of a database closed for a page's deleteDatabase: not a full disk.
        if (attempt > 0 || !isRoomError(error) || this.closed.has(db)) throw error;
        await this.roomFound(keep);
        if (!(await makeRoom(this, bytes, others, file.sessionId, await this.limits(file.sessionId)))) throw noRoom();
      }
    }
  }

  /**
   * A write failed for lack of room: the limit becomes half of what the store holds, and its
   * least recently used files (not those in `keep`, being downloaded) go until it holds no more.
   */
  private async roomFound(keep: ReadonlySet<string>): Promise<void> {
    this.room.full(this.usedBytes());
    await evictUntil(this, 0, keep, undefined, { own: Infinity, all: await this.limitWithin('enforced') });
    await this.room.save(await this.database());
  }

  /** Evicts until session `sessionId` and the origin hold no more than their limits (a download that went past them has ended). */
  async fit(sessionId: string, keep: ReadonlySet<string>): Promise<void> {
    await evictUntil(this, 0, keep, sessionId, await this.limits(sessionId));
  }

  /**
   * Chunk `index` of `key`; undefined where it is missing. With `of`, only a chunk of that copy
   * of the file, so that a file deleted and stored again (other bytes, from another download)
   * never passes for the one the caller knew, whose hash it may have checked. The index in
   * memory is asked once the chunk is read: a deletion leaves it before its transaction starts,
   * and a new copy enters it only once committed, under a new generation; so a record of the
   * same copy after the read means the bytes read were that copy's. Reading the record in the
   * chunk's transaction instead put every read behind the record updates queued on the files.
   */
  async readChunk(key: string, index: number, of?: Pick<StoredFile, 'generation'>): Promise<Uint8Array | undefined> {
    const db = await this.database();
    if (!db) return undefined;
    const value = await request(db.transaction('chunks').objectStore('chunks').get([key, index]) as IDBRequest<unknown>);
    if (of) {
      const record = this.files.get(key);
      if (!record || record.generation !== of.generation || record.stored <= index * this.chunkBytes) return undefined;
    }
    return readChunkValue(value);
  }

  /** Marks `key` as just used, for eviction order. */
  touch(key: string): void {
    this.update(key, undefined, { lastUsed: this.now() });
  }

  /** Records that the server served or confirmed this copy (`generation`) of `key` just now. */
  renew(key: string, generation: string | undefined, freshness: Required<Freshness>): void {
    this.update(key, generation, freshness);
  }

  /** Changes fields of `key`'s record (of that copy only, when `generation` is given). */
  private update(key: string, generation: string | undefined, fields: Partial<StoredFile>): void {
    const file = this.files.get(key);
    if (!file || (generation !== undefined && file.generation !== generation)) return;
    this.files.set(key, { ...file, ...fields });
    this.updates.change(key, generation, fields);
  }

  async delete(key: string): Promise<void> {
    // Written later, they would bring the file back. (A transaction under way commits first.)
    this.writes.drop((write) => write.record.key === key);
    this.updates.drop(key);
    this.files.delete(key);
    this.onDelete?.(key);
    const db = await this.database();
    if (!db) return;
    const tx = db.transaction(['files', 'chunks'], 'readwrite');
    tx.objectStore('files').delete(key);
    tx.objectStore('chunks').delete(IDBKeyRange.bound([key, 0], [key, Infinity]));
    await completion(tx);
  }

  /** Deletes `key` if the store still holds that copy of it (`generation`), not one stored since. */
  async deleteCopy(key: string, generation: string | undefined): Promise<void> {
    if (this.files.get(key)?.generation === generation) await this.delete(key);
  }

  /** Deletes every stored byte of `sessionId` and keeps its settings (the app's "clear cache"). */
  async clearSession(sessionId: string): Promise<void> {
    await this.ready();
    this.writes.drop((write) => write.record.sessionId === sessionId);
    // A file whose first bytes are being committed is not in the index yet: let them land.
    await this.writes.idle();
    for (const file of [...this.files.values()]) if (file.sessionId === sessionId) await this.delete(file.key);
  }

  /** Deletes every file and setting of `sessionId` (sign-out, or a session the worker pruned). */
  async deleteSession(sessionId: string): Promise<void> {
    await this.clearSession(sessionId);
    await this.settings.forget(await this.database(), sessionId);
  }

  /** Every stored record, least recently used first. */
  list(): StoredFile[] {
    return [...this.files.values()].sort((a, b) => a.lastUsed - b.lastUsed);
  }

  private async database(): Promise<IDBDatabase | undefined> {
    this.opened ??= this.open();
    return this.opened;
  }

  /** The limits eviction keeps session `sessionId` and the origin to now. */
  private async limits(sessionId: string): Promise<Limits> {
    return { own: await this.limitWithin('enforced', sessionId), all: await this.limitWithin('enforced') };
  }
}
