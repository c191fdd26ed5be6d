import { createSHA256, type IHasher } from 'hash-wasm';
import type { SharedDownload } from './sharedDownload.js';
import type { Fallback } from './sharedDownload.js';

/**
 * Whether a file's bytes have the SHA-256 they must have: the spec's "clients MUST verify the
 * hash before using the file contents" for encrypted attachments. WebCrypto's digest is one-shot
 * (the whole file in memory), so the hash is computed incrementally, as the bytes arrive.
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

const equal = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((byte, i) => byte === b[i]);

/** Hashes a stream to its end; true when it has the SHA-256 `expected`. */
async function streamHasHash(stream: ReadableStream<Uint8Array>, expected: Uint8Array): Promise<boolean> {
  const hasher = await sha256();
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    hasher.update(value);
  }
  return equal(hasher.digest(), expected);
}

/**
 * Reads the whole file through `download` as it arrives (from memory at the live edge, from
 * the store behind it) and checks its hash. Reading also keeps the download going.
 */
export function downloadHasHash(download: SharedDownload, expected: Uint8Array, fallback: Fallback): Promise<boolean> {
  return streamHasHash(download.read(0, download.size - 1, fallback), expected);
}
