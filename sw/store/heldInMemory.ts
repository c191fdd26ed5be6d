import type { ChunkBytes } from './storedChunk.js';
import { joined } from '../upstream/readBody.js';

/**
 * Where a download keeps the chunks the store does not take: a file the server forbids storing
 * (`Cache-Control: no-store`), one larger than the store's limit, or the rest of one the disk
 * had no room for. They stay in the worker's memory for the file's view, so that the ranges a
 * video asks for (a seek, on a server that ignores Range) read the one download; nothing of them
 * reaches IndexedDB or Cache Storage. They go once the view is over (see SharedDownload); a
 * request after that downloads again, as without a worker.
 */

/** The most of one file held in memory for its view; a larger one is served as without a worker. */
export const MEMORY_HELD_BYTES = 64 * 1024 * 1024;

export class HeldInMemory {
  private readonly chunks = new Map<number, Uint8Array>();

  /** Keeps consecutive chunks, the first at `index`. */
  put(index: number, arrived: readonly ChunkBytes[]): void {
    arrived.forEach((chunk, i) => this.chunks.set(index + i, joined(chunk.pieces, chunk.size)));
  }

  get(index: number): Uint8Array | undefined {
    return this.chunks.get(index);
  }
}
