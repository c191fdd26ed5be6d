import { completion } from './idb.js';
import type { StoredFile } from './storedFile.js';

/**
 * How changes to stored files' records (last used, freshness) reach IndexedDB: many in one
 * transaction. A gallery served from the store marks hundreds of files as used at once; with a
 * read-write transaction each, every read of a chunk whose transaction shared their object store
 * queued behind them: 300 encrypted images after a reload took 1.0 × the page-side time, 0.75 ×
 * once the updates shared transactions (docs/performance.md, "Where the time went").
 *
 * The index in memory is the store's truth while the worker runs; what is written here only has
 * to survive the worker. A change waits at most for the transaction under way.
 */

interface Change {
  /** Only the record of this copy is changed; undefined: whatever copy is stored. */
  generation: string | undefined;
  fields: Partial<StoredFile>;
}

export class RecordUpdates {
  private waiting = new Map<string, Change[]>();
  private running: Promise<void> | undefined;

  constructor(private readonly database: () => Promise<IDBDatabase | undefined>) {}

  /** Writes `fields` into `key`'s record (of that copy only, when `generation` is given). */
  change(key: string, generation: string | undefined, fields: Partial<StoredFile>): void {
    const changes = this.waiting.get(key) ?? [];
    changes.push({ generation, fields });
    this.waiting.set(key, changes);
    this.running ??= this.run();
  }

  /** Forgets the changes waiting for `key` (its file is being deleted). */
  drop(key: string): void {
    this.waiting.delete(key);
  }

  private async run(): Promise<void> {
    try {
      // Changes made in the same task as this one go in its transaction.
      const db = await this.database();
      while (this.waiting.size > 0) {
        const batch = this.waiting;
        this.waiting = new Map();
        if (!db) continue;
        // Read and write in one transaction: a record read before a chunk write commits would
        // otherwise put the file's old stored length back.
        const files = db.transaction('files', 'readwrite').objectStore('files');
        for (const [key, changes] of batch) {
          const current = files.get(key);
          current.onsuccess = () => {
            let record = current.result as StoredFile | undefined;
            if (!record) return;
            for (const { generation, fields } of changes) if (generation === undefined || record.generation === generation) record = { ...record, ...fields };
            files.put(record);
          };
        }
        // A change that could not be written costs an order of eviction or a recheck, nothing more.
        await completion(files.transaction).catch(() => undefined);
      }
    } finally {
      this.running = undefined;
    }
  }
}
