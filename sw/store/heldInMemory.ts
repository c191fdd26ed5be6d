import type { StoredFile } from './storedFile.js';
import type { ChunkBytes } from './storedChunk.js';
import { joined } from '../upstream/readBody.js';

/**
 * Where the bytes of a file the server forbids storing (`Cache-Control: no-store`) live while it
 * is downloaded: in the worker's memory, so that the ranges a video asks for while it loads (a
 * seek, on a server that ignores Range) read the one download; nothing reaches IndexedDB or Cache
 * Storage. The caller bounds the file's size (MEMORY_HELD_BYTES); the bytes go with the download
 * and its last reader. A request after the download ended downloads again, as without a worker.
 */

/** The largest no-store file held in memory for its view; a larger one is served as without a worker. */
export const MEMORY_HELD_BYTES = 64 * 1024 * 1024;

/** The chunk store a no-store file's download writes to and reads from (the MediaStore's shape). */
export class HeldInMemory {
  private readonly chunks = new Map<number, Uint8Array>();

  constructor(readonly chunkBytes: number) {}

  async writeChunks(_file: StoredFile, index: number, arrived: readonly ChunkBytes[]): Promise<void> {
    arrived.forEach((chunk, i) => this.chunks.set(index + i, joined(chunk.pieces, chunk.size)));
  }

  async readChunk(_key: string, index: number): Promise<Uint8Array | undefined> {
    return this.chunks.get(index);
  }

  touch(): void {}

  /** Lets the bytes go (a reader found a chunk missing, which cannot happen in memory). */
  async deleteCopy(): Promise<void> {
    this.chunks.clear();
  }
}
