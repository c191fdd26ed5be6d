import { completion, GroupCommit } from './groupCommit.js';
import { BLOB_BYTES, chunkValue, lengthOf, readChunkValue, takesBlobs, type ChunkBytes } from './storedChunk.js';

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
const DEFAULT_LIMIT_CAP = 1 << 30;

export interface StoredFile {
  /** Session, homeserver and media ID: another session never finds it. */
  key: string;
  sessionId: string;
  size: number;
  /** How many bytes from the start of the file are stored. */
  stored: number;
  /** Content-Type and the other headers worth answering with again. */
  headers: Record<string, string>;
  lastUsed: number;
  /**
   * Which copy of the file this is: new each time the file is stored from nothing (records of
   * versions before it have none). A reader checks it with every chunk, so that bytes stored
   * after a deletion are never taken for the ones that were there before (see readChunk).
   */
  generation?: string;
}

/** A fresh value for StoredFile.generation. */
export const newGeneration = (): string => crypto.randomUUID();

export interface MediaStoreOptions {
  name?: string;
  chunkBytes?: number;
  now?: () => number;
  /** The storage quota, for the default limit; navigator.storage.estimate() by default. */
  quota?: () => Promise<number | undefined>;
}

function request<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

/** Chromium near its quota aborts with AbortError, Firefox throws QuotaExceededError. */
export function isQuotaError(error: unknown): boolean {
  return error instanceof DOMException && (error.name === 'QuotaExceededError' || error.name === 'AbortError');
}

async function estimatedQuota(): Promise<number | undefined> {
  try {
    return (await navigator.storage?.estimate())?.quota;
  } catch {
    return undefined;
  }
}

export class MediaStore {
  readonly chunkBytes: number;
  /** Why the store cannot be used (a private window, storage turned off), or null. */
  unavailable: string | null = null;
  /** Told of every file deleted (evicted, signed out, corrupt), so that what was known of it goes too. */
  onDelete: ((key: string) => void) | undefined;
  private readonly name: string;
  private readonly now: () => number;
  private readonly quota: () => Promise<number | undefined>;
  private readonly files = new Map<string, StoredFile>();
  private readonly writes = new GroupCommit((record) => this.files.set(record.key, record));
  private opened: Promise<IDBDatabase | undefined> | undefined;
  private limit: number | undefined;
  // The default limit asks the browser for its quota; once is enough, not once per chunk.
  private defaultLimit: Promise<number> | undefined;
  /** Whether the browser's IndexedDB takes Blobs: tried once, with the first large chunk. */
  private blobs: Promise<boolean> | undefined;

  constructor(options: MediaStoreOptions = {}) {
    this.name = options.name ?? 'matrix-media-sw-store';
    this.chunkBytes = options.chunkBytes ?? CHUNK_BYTES;
    this.now = options.now ?? Date.now;
    this.quota = options.quota ?? estimatedQuota;
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
        db.close();
        this.files.clear();
        this.opened = undefined;
      };
      const tx = db.transaction(['files', 'meta']);
      const [records, limit] = await Promise.all([
        request(tx.objectStore('files').getAll() as IDBRequest<StoredFile[]>),
        request(tx.objectStore('meta').get('limit') as IDBRequest<number | undefined>),
      ]);
      for (const file of records) this.files.set(file.key, file);
      if (this.limit === undefined && typeof limit === 'number') this.limit = limit;
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

  /** The most bytes kept at once: `storeBytes`, else the smaller of 1 GiB and a tenth of the quota. */
  async limitBytes(): Promise<number> {
    if (this.limit !== undefined) return this.limit;
    this.defaultLimit ??= this.quota().then((quota) => (quota ? Math.min(DEFAULT_LIMIT_CAP, Math.floor(quota / 10)) : DEFAULT_LIMIT_CAP));
    return this.defaultLimit;
  }

  async setLimit(bytes: number): Promise<void> {
    this.limit = bytes;
    const db = await this.database();
    if (!db) return;
    const tx = db.transaction('meta', 'readwrite');
    tx.objectStore('meta').put(bytes, 'limit');
    await completion(tx);
    await this.makeRoom(0, new Set());
  }

  usedBytes(): number {
    let used = 0;
    for (const file of this.files.values()) used += file.stored;
    return used;
  }

  /**
   * Stores consecutive chunks of `file`, the first at `index`, and the file's new stored length,
   * in one transaction (shared with other files' writes waiting at the same time: see
   * GroupCommit). Several chunks per transaction because each commit has a cost of its own:
   * four per transaction wrote 1.4× faster than one in Chromium, 1.2× in Firefox. Makes room
   * first by evicting the least recently used other files (never those in `keep`); on a quota
   * error it evicts once more and tries again. Rejects when there is no room.
   */
  async writeChunks(file: StoredFile, index: number, arrived: readonly ChunkBytes[], keep: ReadonlySet<string>): Promise<void> {
    const db = await this.database();
    if (!db) throw new DOMException(this.unavailable ?? 'no store', 'InvalidStateError');
    const blobs = arrived.some((chunk) => chunk.size >= BLOB_BYTES) && (await (this.blobs ??= takesBlobs(db, 'meta')));
    const chunks = arrived.map((chunk) => chunkValue(chunk, blobs));
    const bytes = chunks.reduce((total, chunk) => total + lengthOf(chunk), 0);
    const record: StoredFile = { ...file, stored: index * this.chunkBytes + bytes, lastUsed: this.now() };
    const others = new Set([...keep, file.key]);
    if (!(await this.makeRoom(bytes, others))) throw new DOMException('The store limit leaves no room for this file.', 'QuotaExceededError');
    for (let attempt = 0; ; attempt++) {
      try {
        await this.writes.commit(db, { record, index, chunks, bytes });
        return;
      } catch (error) {
        if (attempt > 0 || !isQuotaError(error) || !(await this.evictOne(others))) throw error;
      }
    }
  }

  /**
   * Chunk `index` of `key`; undefined where it is missing. With `of`, only a chunk of that copy
   * of the file: the record and the chunk are read in one transaction, so a file deleted and
   * stored again (other bytes, from another download) never passes for the one the caller knew,
   * whose hash it may have checked.
   */
  async readChunk(key: string, index: number, of?: Pick<StoredFile, 'generation'>): Promise<Uint8Array | undefined> {
    const db = await this.database();
    if (!db) return undefined;
    if (!of) return readChunkValue(await request(db.transaction('chunks').objectStore('chunks').get([key, index]) as IDBRequest<unknown>));
    const tx = db.transaction(['files', 'chunks']);
    const [record, value] = await Promise.all([
      request(tx.objectStore('files').get(key) as IDBRequest<StoredFile | undefined>),
      request(tx.objectStore('chunks').get([key, index]) as IDBRequest<unknown>),
    ]);
    if (!record || record.generation !== of.generation || record.stored <= index * this.chunkBytes) return undefined;
    return readChunkValue(value);
  }

  /** Marks `key` as just used, for eviction order. */
  touch(key: string): void {
    const file = this.files.get(key);
    if (!file) return;
    const lastUsed = this.now();
    this.files.set(key, { ...file, lastUsed });
    void this.database().then((db) => {
      if (!db) return;
      // Read and write in one transaction: a snapshot taken before a chunk write that commits
      // first would put the file's old stored length back.
      const files = db.transaction('files', 'readwrite').objectStore('files');
      const current = files.get(key) as IDBRequest<StoredFile | undefined>;
      current.onsuccess = () => {
        if (current.result) files.put({ ...current.result, lastUsed });
      };
    });
  }

  async delete(key: string): Promise<void> {
    // Written later, they would bring the file back. (A transaction under way commits first.)
    this.writes.drop((write) => write.record.key === key);
    this.files.delete(key);
    this.onDelete?.(key);
    const db = await this.database();
    if (!db) return;
    const tx = db.transaction(['files', 'chunks'], 'readwrite');
    tx.objectStore('files').delete(key);
    tx.objectStore('chunks').delete(IDBKeyRange.bound([key, 0], [key, Infinity]));
    await completion(tx);
  }

  /** Deletes every file of `sessionId` (sign-out, or a session the worker pruned). */
  async deleteSession(sessionId: string): Promise<void> {
    await this.ready();
    this.writes.drop((write) => write.record.sessionId === sessionId);
    // A file whose first bytes are being committed is not in the index yet: let them land.
    await this.writes.idle();
    for (const file of [...this.files.values()]) if (file.sessionId === sessionId) await this.delete(file.key);
  }

  /** Every stored record, least recently used first. */
  list(): StoredFile[] {
    return [...this.files.values()].sort((a, b) => a.lastUsed - b.lastUsed);
  }

  private async database(): Promise<IDBDatabase | undefined> {
    this.opened ??= this.open();
    return this.opened;
  }

  /** Evicts least recently used files outside `keep` until `bytes` more fit; false if they cannot. */
  private async makeRoom(bytes: number, keep: ReadonlySet<string>): Promise<boolean> {
    const limit = await this.limitBytes();
    while (this.usedBytes() + bytes > limit) {
      if (!(await this.evictOne(keep))) return false;
    }
    return true;
  }

  private async evictOne(keep: ReadonlySet<string>): Promise<boolean> {
    const victim = this.list().find((file) => !keep.has(file.key));
    if (!victim) return false;
    await this.delete(victim.key);
    return true;
  }
}
