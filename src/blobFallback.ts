import { MediaSwError } from './MediaSwError.js';
import { DEFAULT_BLOB_CACHE_BYTES } from './mediaWorker.js';
import { decodeBase64, type EncryptedFile } from './encryptedFile.js';
import { encryptedFileId } from './encryptedFileId.js';
import type { EncryptedMediaOptions, MediaUrlOptions } from './mediaUrl.js';
import { parseMxc } from './mxc.js';
import type { DiagnosticEntry, StoreUsage } from './protocol.js';

/**
 * The page-side fallback (`fallback: 'blob'`) for browsers where no service worker can run:
 * media is fetched by the page with the token and handed out as blob URLs. It holds whole
 * files in memory, so it keeps at most `maxBytes` of them, revoking the least recently used;
 * it cannot stream, seek without loading everything, or give a URL that works in a new tab.
 */

export interface BlobFallbackOptions {
  homeserverUrl: string;
  accessToken: string | null;
  refreshAccessToken: (() => Promise<string | null>) | undefined;
  /** The most bytes of media kept as blob URLs at once; default 64 MiB. */
  maxBytes?: number;
}

interface CachedBlob {
  objectUrl: string;
  bytes: number;
}

export class BlobMediaLoader {
  private readonly cache = new Map<string, CachedBlob>();
  private inFlight = new Map<string, Promise<string>>();
  private cachedBytes = 0;
  private accessToken: string | null;
  private readonly listeners = new Set<(entry: DiagnosticEntry) => void>();

  constructor(private readonly options: BlobFallbackOptions) {
    this.accessToken = options.accessToken;
  }

  setAccessToken(token: string | null): void {
    this.accessToken = token;
  }

  /** The bytes of media currently held as blob URLs. */
  get heldBytes(): number {
    return this.cachedBytes;
  }

  /** The blob URLs held, their bytes, and the most held at once (`blobCacheBytes`). */
  usage(): StoreUsage {
    return { files: this.cache.size, bytes: this.cachedBytes, limitBytes: this.options.maxBytes ?? DEFAULT_BLOB_CACHE_BYTES, memoryBytes: this.cachedBytes };
  }

  onDiagnostic(listener: (entry: DiagnosticEntry) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** An object URL for `mxc` (a download, or a thumbnail with width and height). */
  load(mxc: string, options: MediaUrlOptions = {}): Promise<string> {
    const parts = parseMxc(mxc);
    if (!parts) throw new MediaSwError('invalid-mxc', 'Not a valid mxc URI: expected mxc://<server-name>/<media-id>.');
    const thumbnail = options.width !== undefined || options.height !== undefined;
    const query = new URLSearchParams();
    if (thumbnail) {
      query.set('width', String(options.width));
      query.set('height', String(options.height));
      if (options.method) query.set('method', options.method);
      if (options.animated !== undefined) query.set('animated', String(options.animated));
    }
    const search = query.toString();
    const path = `${thumbnail ? 'thumbnail' : 'download'}/${parts.serverName}/${parts.mediaId}${search ? `?${search}` : ''}`;
    return this.cached(path, () => this.fetchBlob(path, path));
  }

  /**
   * An object URL for an encrypted attachment: the page fetches the ciphertext, checks its
   * SHA-256 against `hashes.sha256` before anything else, and decrypts it whole (what clients do
   * without a worker; it cannot stream or seek before the whole file is in memory).
   */
  loadEncrypted(file: EncryptedFile, options: EncryptedMediaOptions): Promise<string> {
    const parts = parseMxc(file.url)!;
    const cacheKey = `encrypted/${encryptedFileId(file)}`;
    return this.cached(cacheKey, () => this.fetchBlob(`download/${parts.serverName}/${parts.mediaId}`, cacheKey, (blob) => decryptBlob(blob, file, options.mimetype)));
  }

  private cached(cacheKey: string, produce: () => Promise<string>): Promise<string> {
    const cached = this.cache.get(cacheKey);
    if (cached) {
      // Most recently used goes last: eviction takes from the front.
      this.cache.delete(cacheKey);
      this.cache.set(cacheKey, cached);
      return Promise.resolve(cached.objectUrl);
    }
    let pending = this.inFlight.get(cacheKey);
    if (!pending) {
      pending = produce().finally(() => this.inFlight.delete(cacheKey));
      this.inFlight.set(cacheKey, pending);
    }
    return pending;
  }

  /** Revokes an object URL the app no longer shows, freeing its memory. */
  release(objectUrl: string): void {
    for (const [path, cached] of this.cache) {
      if (cached.objectUrl === objectUrl) {
        this.evict(path, cached);
        return;
      }
    }
  }

  /** Revokes everything (sign-out). */
  clear(): void {
    for (const [path, cached] of this.cache) this.evict(path, cached);
  }

  private evict(path: string, cached: CachedBlob): void {
    URL.revokeObjectURL(cached.objectUrl);
    this.cache.delete(path);
    this.cachedBytes -= cached.bytes;
  }

  private async request(url: string, token: string | null): Promise<Response> {
    return fetch(url, { headers: token ? { Authorization: `Bearer ${token}` } : {}, credentials: 'omit' });
  }

  private async fetchBlob(path: string, cacheKey: string, transform?: (blob: Blob) => Promise<Blob>): Promise<string> {
    const started = performance.now();
    const base = this.options.homeserverUrl;
    let url = `${base}/_matrix/client/v1/media/${path}`;
    let response = await this.request(url, this.accessToken);
    const errcode = async () => ((await response.clone().json().catch(() => ({}))) as { errcode?: string }).errcode;
    if (response.status === 401 && (await errcode()) === 'M_UNKNOWN_TOKEN' && this.options.refreshAccessToken) {
      const token = await this.options.refreshAccessToken().catch(() => null);
      if (token) {
        this.accessToken = token;
        response = await this.request(url, token);
      }
    }
    if (response.status === 404 && (await errcode()) === 'M_UNRECOGNIZED') {
      url = `${base}/_matrix/media/v3/${path}`;
      response = await this.request(url, null);
    }
    const report = (bytes: number | null, error: string | null): void => {
      const entry: DiagnosticEntry = {
        url: `mxc:${path}`,
        upstreamUrl: url,
        outcome: error ? 'failed' : 'authenticated',
        status: response.status,
        bytes,
        durationMs: performance.now() - started,
        versionsCached: null,
        source: null,
        error,
      };
      for (const listener of this.listeners) listener(entry);
    };
    if (!response.ok) {
      report(null, `HTTP ${response.status}`);
      throw new MediaSwError('load-failed', `The homeserver answered ${response.status} for this media.`);
    }
    let blob = await response.blob();
    if (transform) {
      try {
        blob = await transform(blob);
      } catch (error) {
        report(null, error instanceof Error ? error.message : 'decryption failed');
        throw error;
      }
    }
    const maxBytes = this.options.maxBytes ?? DEFAULT_BLOB_CACHE_BYTES;
    while (this.cachedBytes + blob.size > maxBytes && this.cache.size > 0) {
      const [oldestPath, oldest] = this.cache.entries().next().value as [string, CachedBlob];
      this.evict(oldestPath, oldest);
    }
    const objectUrl = URL.createObjectURL(blob);
    this.cache.set(cacheKey, { objectUrl, bytes: blob.size });
    this.cachedBytes += blob.size;
    report(blob.size, null);
    return objectUrl;
  }
}

/** Checks the ciphertext's SHA-256, then decrypts it (AES-256-CTR, 64-bit counter) whole. */
async function decryptBlob(blob: Blob, file: EncryptedFile, mimetype: string | undefined): Promise<Blob> {
  const ciphertext = await blob.arrayBuffer();
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', ciphertext));
  const expected = decodeBase64(file.hashes.sha256)!;
  if (digest.length !== expected.length || digest.some((byte, i) => byte !== expected[i])) {
    throw new MediaSwError('load-failed', 'The encrypted file does not match its SHA-256 hash; nothing of it was shown.');
  }
  const key = await crypto.subtle.importKey('raw', decodeBase64(file.key.k)!, { name: 'AES-CTR' }, false, ['decrypt']);
  const plain = await crypto.subtle.decrypt({ name: 'AES-CTR', counter: decodeBase64(file.iv)!, length: 64 }, key, ciphertext);
  return new Blob([plain], { type: mimetype ?? '' });
}
