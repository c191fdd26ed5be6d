import { describe, expect, it } from 'vitest';
import { entrySizes } from '../../bench/sizes.js';

// What a client's bundler makes of the package (esbuild --minify, code splitting): byte counts,
// not timings. The figures themselves are in docs/performance.md ("Sizes").
describe('bundle sizes', async () => {
  const [page, workbox, worker] = await entrySizes();

  it('keeps registerMediaWorker within 8 KB gzipped, blob mode and the page-side hash loaded apart', () => {
    expect(page!.loadedBytes).toBeLessThanOrEqual(8 * 1024);
    for (const lazy of ['src/blobFallback.ts', 'src/blobModeHandle.ts', 'src/encryptedFileId.ts', 'node_modules/@noble/hashes/sha2.js']) {
      expect(page!.loadedInputs).not.toContain(lazy);
      expect(page!.lazyInputs).toContain(lazy);
    }
  });

  it('carries one SHA-256 library in the worker: hash-wasm, not @noble/hashes', () => {
    for (const size of [worker!, workbox!]) {
      expect(size.loadedInputs.some((input) => input.includes('node_modules/hash-wasm/'))).toBe(true);
      expect(size.loadedInputs.filter((input) => input.includes('@noble/'))).toEqual([]);
    }
  });
});
