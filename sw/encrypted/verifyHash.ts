import { createSHA256, type IHasher } from 'hash-wasm';
import type { SharedDownload } from '../store/sharedDownload.js';
import type { Fallback } from '../store/rangeReader.js';
import { joined } from '../upstream/readBody.js';

/**
 * Whether a file's bytes have the SHA-256 they must have: the spec's "clients MUST verify the
 * hash before using the file contents" for encrypted attachments. WebCrypto's digest is one-shot
 * (the whole file in memory), so a file too large to hold is hashed incrementally, as its bytes
 * arrive.
 *
 * hash-wasm rather than @noble/hashes, measured with bench/hashThroughput.ts (64 MiB in 1 MiB
 * pieces, in a dedicated worker, median of 3): hash-wasm 204 MiB/s in Chromium and 148 MiB/s in
 * Firefox, @noble/hashes 53 and 36 (WebCrypto's one-shot digest: 620). Both are maintained;
 * the file must be hashed whole before its first byte can be shown, so speed decides.
 */

export interface Sha256 {
  update(bytes: Uint8Array): void;
  digest(): Uint8Array;
}

/**
 * One WebAssembly instance for every check, each check keeping its own state (a few hundred
 * bytes) and loading it for each update. hash-wasm gives every hasher an instance with a memory
 * of its own, and a gallery of 300 encrypted images ran Chromium's worker out of WebAssembly
 * memory ("Cannot allocate Wasm memory for new instance"): about 1 image in 10 failed.
 */
let shared: Promise<IHasher> | undefined;

export async function sha256(): Promise<Sha256> {
  shared ??= createSHA256().catch((error: unknown) => {
    shared = undefined;
    throw error;
  });
  const hasher = await shared;
  let state = hasher.init().save();
  return {
    // Synchronous from load to save: no other check can run in between.
    update: (bytes) => void (state = hasher.load(state).update(bytes).save()),
    digest: () => hasher.load(state).digest('binary'),
  };
}

const sameDigest = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((byte, i) => byte === b[i]);

/** Whether bytes held whole have the SHA-256 `expected`: WebCrypto's one-shot digest, native and off the worker's thread. */
export async function hasDigest(bytes: Uint8Array<ArrayBuffer>, expected: Uint8Array): Promise<boolean> {
  return sameDigest(new Uint8Array(await crypto.subtle.digest('SHA-256', bytes)), expected);
}

export interface CheckedFile {
  matches: boolean;
  /**
   * The very bytes that were hashed, when the file is small enough to keep (images, thumbnails):
   * they are decrypted from here, with no second read of the store, and no chance that what is
   * decrypted differs from what was checked.
   */
  bytes?: Uint8Array<ArrayBuffer>;
}

/**
 * Hashes a stream to its end. A file of at most `keepBytes` is kept and hashed in one WebCrypto
 * call once whole (a gallery checks hundreds at once); a larger one incrementally, as its bytes
 * arrive, and not kept.
 */
async function checkStream(stream: ReadableStream<Uint8Array>, expected: Uint8Array, size: number, keepBytes: number): Promise<CheckedFile> {
  const reader = stream.getReader();
  if (size <= keepBytes) {
    const pieces: Uint8Array[] = [];
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      pieces.push(value);
    }
    const bytes = joined(pieces, size);
    const matches = await hasDigest(bytes, expected);
    return matches ? { matches, bytes } : { matches };
  }
  const hasher = await sha256();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    hasher.update(value);
  }
  return { matches: sameDigest(hasher.digest(), expected) };
}

/**
 * Checks a small file stored whole from its one stored chunk, read at once; a file that is not
 * (or whose chunk is gone) is read through the download as it comes.
 */
export async function checkStored(download: SharedDownload, expected: Uint8Array, fallback: Fallback, keepBytes: number): Promise<CheckedFile> {
  const stored = download.size <= keepBytes ? await download.storedWhole() : undefined;
  if (!stored) return checkDownload(download, expected, fallback, keepBytes);
  const bytes = stored.byteOffset === 0 && stored.byteLength === stored.buffer.byteLength ? (stored as Uint8Array<ArrayBuffer>) : stored.slice();
  return (await hasDigest(bytes, expected)) ? { matches: true, bytes } : { matches: false };
}

/**
 * Reads the whole file through `download` as it arrives (from memory at the live edge, from
 * the store behind it) and checks its hash. Reading also keeps the download going.
 */
export function checkDownload(download: SharedDownload, expected: Uint8Array, fallback: Fallback, keepBytes: number): Promise<CheckedFile> {
  return checkStream(download.read(0, download.size - 1, fallback), expected, download.size, keepBytes);
}
