import { joined } from '../upstream/readBody.js';
import { completion } from './idb.js';

/**
 * In what form a chunk of a stored file is kept in IndexedDB: a large chunk as a Blob made of
 * the pieces the network gave, a small one as bytes.
 *
 * A Blob of the pieces means no 1 MiB array assembled on the worker's thread (a tenth of its
 * time on a fast download), and IndexedDB keeps the bytes outside its database. Measured with
 * bench/storeBackends.ts, four chunks per transaction: Blobs wrote 257 against 221 MiB/s in
 * Chromium and 272 against 165 in Firefox, and read 281 against 213 and 364 against 181.
 * A small chunk (a gallery's images are files of one small chunk each) stays bytes: as Blobs,
 * each would be a file of its own on disk, and 300 encrypted images took 1.15 × the page-side
 * time instead of 1.07 ×.
 */

/** From this size on a chunk is stored as a Blob (where the browser's IndexedDB takes Blobs). */
export const BLOB_BYTES = 64 * 1024;

/** What the store keeps for a chunk. */
export type StoredChunk = Blob | Uint8Array;

/** A chunk's bytes as they arrived: views of what the network gave, in order. */
export interface ChunkBytes {
  pieces: readonly Uint8Array[];
  /** The chunk's length: the pieces' lengths added up. */
  size: number;
}

export const lengthOf = (chunk: StoredChunk): number => (chunk instanceof Blob ? chunk.size : chunk.byteLength);

/** The value to store for `chunk`: a Blob if it is large and `blobs` says the store takes them, else bytes. */
export function chunkValue({ pieces, size }: ChunkBytes, blobs: boolean): StoredChunk {
  if (blobs && size >= BLOB_BYTES) return new Blob(pieces as Uint8Array<ArrayBuffer>[]);
  const [only] = pieces;
  // One piece that is its whole buffer is stored as it is; a view would store the buffer round it.
  if (pieces.length === 1 && only!.byteOffset === 0 && only!.byteLength === only!.buffer.byteLength) return only!;
  return joined(pieces, size);
}

/** The bytes of a stored value; undefined for anything that is not a chunk. */
export async function readChunkValue(value: unknown): Promise<Uint8Array | undefined> {
  if (value instanceof Blob) return new Uint8Array(await value.arrayBuffer());
  // Small chunks are bytes; so was every chunk before large ones became Blobs.
  if (value instanceof Uint8Array) return value;
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  return undefined;
}

/**
 * Whether this browser's IndexedDB stores Blobs, tried with a byte of one in `store`:
 * WebKitGTK's fails every transaction that holds a Blob (in a page and in a worker alike), and
 * so may other browsers' private windows. Where it does not, chunks are stored as bytes.
 */
export async function takesBlobs(db: IDBDatabase, store: string): Promise<boolean> {
  try {
    const tx = db.transaction(store, 'readwrite');
    tx.objectStore(store).put(new Blob([new Uint8Array(1)]), 'blob-probe');
    await completion(tx);
    return true;
  } catch {
    return false;
  }
}
