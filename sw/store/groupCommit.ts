import type { StoredFile } from './storedFile.js';
import { completion } from './idb.js';
import type { StoredChunk } from './storedChunk.js';

/**
 * How writes share transactions: a write waits while a transaction is under way, then commits
 * together with every write that waited with it (group commit). Each transaction has a cost of
 * its own; a gallery of encrypted images stores hundreds of small files at once, and its
 * IndexedDB work, one transaction per file, took about a tenth of the worker's time there. A
 * write alone, or a large one, commits at once as before.
 */

/** Consecutive chunks of a file, the first at `index`, and the file's record after them. */
export interface Write {
  record: StoredFile;
  index: number;
  chunks: readonly StoredChunk[];
  /** The chunks' length added up, as the store counted it. */
  bytes: number;
}

interface Waiting {
  write: Write;
  resolve: () => void;
  reject: (error: unknown) => void;
}

// A group stops growing at this many bytes: a video's batches of chunks go one per transaction.
const GROUP_BYTES = 4 * 1024 * 1024;

export class GroupCommit {
  private waiting: Waiting[] = [];
  private running: Promise<void> | undefined;

  /** `committed` is told of each record once its transaction has completed, before its write resolves. */
  constructor(private readonly committed: (record: StoredFile) => void) {}

  /** Commits `write` in the next transaction on `db`; rejects with that transaction's error. */
  commit(db: IDBDatabase, write: Write): Promise<void> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ write, resolve, reject });
      this.running ??= this.run(db);
    });
  }

  /** Drops the waiting writes that `which` picks (their file is being deleted); they reject. */
  drop(which: (write: Write) => boolean): void {
    const dropped = this.waiting.filter((entry) => which(entry.write));
    this.waiting = this.waiting.filter((entry) => !which(entry.write));
    // Not AbortError: that one, from IndexedDB, can mean the disk is full (StoreRoom).
    for (const entry of dropped) entry.reject(new DOMException('The file was deleted while its bytes waited to be written.', 'NotFoundError'));
  }

  /** Resolves once no transaction is under way: every write committed so far is in `committed`. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  private async run(db: IDBDatabase): Promise<void> {
    // Never to the end in one go: `running` must be set before it is cleared.
    await null;
    try {
      while (this.waiting.length > 0) {
        let bytes = 0;
        let count = 0;
        while (count < this.waiting.length && (count === 0 || bytes + this.waiting[count]!.write.bytes <= GROUP_BYTES)) {
          bytes += this.waiting[count]!.write.bytes;
          count += 1;
        }
        const group = this.waiting.splice(0, count);
        try {
          const tx = db.transaction(['files', 'chunks'], 'readwrite');
          for (const { write } of group) {
            write.chunks.forEach((chunk, i) => tx.objectStore('chunks').put(chunk, [write.record.key, write.index + i]));
            tx.objectStore('files').put(write.record);
          }
          await completion(tx);
        } catch (error) {
          for (const entry of group) entry.reject(error);
          continue;
        }
        for (const entry of group) this.committed(entry.write.record);
        for (const entry of group) entry.resolve();
      }
    } finally {
      this.running = undefined;
    }
  }
}
