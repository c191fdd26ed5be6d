import type { EncryptedFile } from './encryptedFile.js';
import type { EncryptedMediaOptions, MediaUrlOptions } from './mediaUrl.js';
import type { DiagnosticEntry, DownloadProgress, StoreUsage } from './protocol.js';

/** The page API's two types: what `registerMediaWorker` takes, and the handle it gives back in either mode. */

export interface RegisterMediaWorkerOptions {
  /** The client's homeserver base URL, as given to the SDK; may carry a path prefix. */
  homeserverUrl: string;
  /** The access token, or null while the user is not signed in. */
  accessToken: string | null;
  /** Where the worker script is served; default `/matrix-media-sw.js`. */
  scriptUrl?: string;
  /** The worker's scope; default the script's directory. */
  scope?: string;
  /** Called when the homeserver rejects the token; resolves to a new one, or null if there is none. */
  refreshAccessToken?: () => Promise<string | null>;
  /** How long registration may take before it fails, in milliseconds; default 10 000. */
  timeoutMs?: number;
  /**
   * `'blob'`: where no service worker can run, resolve anyway with a handle in blob mode, which
   * loads media in the page (`loadMedia`) instead of rejecting.
   */
  fallback?: 'blob';
  /** In blob mode, the most bytes of media held as blob URLs at once; default 64 MiB (DEFAULT_BLOB_CACHE_BYTES). */
  blobCacheBytes?: number;
  /**
   * The most bytes of this session's media the worker's store keeps on disk (files downloaded
   * whole from a homeserver that ignores Range, so they cross the network once); its least
   * recently used go first, and other sessions' files are never evicted for it. Default: the
   * smaller of 1 GiB and a tenth of the origin's storage quota. 0 keeps nothing of this session.
   */
  storeBytes?: number;
  /**
   * The longest the worker's store serves a file of this session without asking the homeserver
   * whether it still serves it, in milliseconds. The server's own freshness (`Cache-Control:
   * max-age`, a day when it says nothing) applies too; the shorter wins. A client that wants a
   * moderator's removal to show within an hour sets an hour; 0 asks at every use.
   */
  storeMaxAgeMs?: number;
}

/** The handle on a registered session. */
export interface MediaWorker {
  /** Which mechanism serves media: the service worker, or the page-side blob fallback. */
  readonly mode: 'service-worker' | 'blob';
  /** In blob mode, why no worker could be used (the error registration met). */
  readonly fallbackReason: string | null;
  readonly registration: ServiceWorkerRegistration | null;
  /** The opaque id of this session in `mediaUrl` URLs. */
  readonly sessionId: string;
  /** Hands the worker a new token (after a refresh or a re-login); resolves once it holds it. */
  setAccessToken(accessToken: string | null): Promise<void>;
  /** Makes the worker forget this session, in memory and in storage. */
  signOut(): Promise<void>;
  /** A same-origin URL for `mxc` that the worker serves with this session's token (service-worker mode only). */
  mediaUrl(mxc: string, options?: MediaUrlOptions): string;
  /**
   * A same-origin URL that the worker serves decrypted, for an encrypted attachment (an event's
   * `content.file` or `content.info.thumbnail_file`), with `info.mimetype` and the file name.
   * The URL holds no key material: the key goes to the worker by message. Throws
   * `invalid-encrypted-file` naming the field that is wrong (service-worker mode only).
   */
  encryptedMediaUrl(file: EncryptedFile, options?: EncryptedMediaOptions): string;
  /**
   * A URL to show `source` (an mxc URI, or an encrypted attachment's `EncryptedFile`) with, in
   * either mode: the worker's URL, or in blob mode a blob URL the page fetched, verified and
   * decrypted (call `releaseMedia` when it is no longer shown).
   */
  loadMedia(source: string | EncryptedFile, options?: MediaUrlOptions & EncryptedMediaOptions): Promise<string>;
  /** Frees a blob URL from `loadMedia` (nothing to do with a worker). */
  releaseMedia(url: string): void;
  /**
   * Calls `callback` with what the worker did for each media request from now on (URLs without
   * tokens, status, bytes, time). Nothing is reported until asked. Returns a function that stops it.
   */
  onDiagnostic(callback: (entry: DiagnosticEntry) => void): Promise<() => void>;
  /**
   * Calls `callback` with the progress of each file the worker downloads whole (video against a
   * homeserver that ignores Range), a few times a second, for progress bars. Returns a function
   * that stops it.
   */
  onProgress(callback: (progress: DownloadProgress) => void): Promise<() => void>;
  /**
   * What is stored of this session's media: files, bytes and the most it may keep now
   * (`storeBytes`, or the default, lowered once the disk refused a write for lack of room). In
   * blob mode, the blob URLs held and `blobCacheBytes`.
   */
  storeUsage(): Promise<StoreUsage>;
  /**
   * Deletes every stored byte of this session's media (the app's "clear cache") and keeps the
   * session: media goes on loading, from the homeserver. In blob mode, revokes every blob URL.
   */
  clearStore(): Promise<void>;
}

/**
 * Blob mode's default memory bound. Here rather than with blob mode's code (src/blobFallback.ts),
 * which the page loads only when blob mode starts.
 */
export const DEFAULT_BLOB_CACHE_BYTES = 64 * 1024 * 1024;
