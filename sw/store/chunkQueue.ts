import type { ChunkBytes } from './storedChunk.js';

/**
 * Which full chunks wait for the disk: a download's chunks on their way to the media store,
 * readable from memory until they are written, and written several per transaction. The
 * network runs ahead of the disk by QUEUED_CHUNKS at most, then waits for it.
 */

/**
 * A chunk of a download: the pieces the network gave, not copied into one array (readers get
 * views of them, the store a Blob of them), `size` its full length (a file's last chunk is
 * shorter), `filled` how many bytes have arrived.
 */
export interface Chunk extends ChunkBytes {
  index: number;
  pieces: Uint8Array[];
  /** How many bytes have arrived; a queued chunk is full. */
  filled: number;
}

/** A view of `chunk`'s bytes from `offset` to before `to` (or the end of the piece it is in). */
export function viewOf(chunk: Chunk, offset: number, to: number): Uint8Array {
  let start = 0;
  for (const piece of chunk.pieces) {
    const end = start + piece.byteLength;
    if (offset < end) return piece.subarray(offset - start, Math.min(piece.byteLength, to - start));
    start = end;
  }
  return new Uint8Array(0);
}

/** Full chunks kept in memory while the store catches up. */
export const QUEUED_CHUNKS = 8;
/** Chunks per transaction (see MediaStore.writeChunks for why several). */
export const WRITE_BATCH = 4;

export interface ChunkQueueOptions {
  /** Stores consecutive chunks, the first at `index`. */
  write(index: number, chunks: Chunk[]): Promise<void>;
  /** Told of the last chunk of each batch written. */
  written(last: Chunk): void;
  /** Told once a write has failed; nothing more is written. */
  failed(): void;
  /** False once the download has ended: what is still queued is not written. */
  active(): boolean;
}

export class ChunkQueue {
  private queued: Chunk[] = [];
  /** Writing until the queue is empty, or undefined. */
  private writing: Promise<void> | undefined;
  /** Pushes waiting for room in the queue. */
  private waitingForRoom: Array<() => void> = [];

  constructor(private readonly options: ChunkQueueOptions) {}

  /** Queued chunk `index`, if it is still waiting for the disk. */
  find(index: number): Chunk | undefined {
    return this.queued.find((chunk) => chunk.index === index);
  }

  /** Queues a full chunk; resolves once there is room for the next (the disk sets the pace). */
  async push(chunk: Chunk): Promise<void> {
    this.queued.push(chunk);
    this.writing ??= this.drain();
    // On as soon as a batch is written, not once the whole queue is: the network would otherwise
    // stop while eight chunks are written, then start again with batches of one.
    while (this.queued.length >= QUEUED_CHUNKS && this.writing) await new Promise<void>((resolve) => this.waitingForRoom.push(resolve));
  }

  /** Resolves once nothing is being written any more. */
  async settled(): Promise<void> {
    while (this.writing) await this.writing;
  }

  /** Drops what is queued (the download ended); a write under way still finishes. */
  clear(): void {
    this.queued = [];
    this.roomMade();
  }

  private roomMade(): void {
    const waiting = this.waitingForRoom;
    this.waitingForRoom = [];
    for (const resolve of waiting) resolve();
  }

  private async drain(): Promise<void> {
    try {
      while (this.queued.length > 0 && this.options.active()) {
        const batch = this.queued.slice(0, WRITE_BATCH);
        await this.options.write(batch[0]!.index, batch);
        this.queued.splice(0, batch.length);
        this.options.written(batch.at(-1)!);
        this.roomMade();
      }
    } catch {
      this.options.failed();
    } finally {
      this.writing = undefined;
      this.roomMade();
    }
  }
}
