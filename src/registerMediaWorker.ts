import { blobModeHandle } from './blobModeHandle.js';
import { explainRegistrationFailure } from './explainRegistrationFailure.js';
import { normalizeHomeserverUrl } from './homeserverUrl.js';
import { MediaSwError } from './MediaSwError.js';
import { checkEncryptedFile, encryptedFileId, type EncryptedFile } from './encryptedFile.js';
import { buildEncryptedMediaUrl, buildMediaUrl, checkEncryptedMediaOptions, type EncryptedMediaOptions, type MediaUrlOptions } from './mediaUrl.js';
import type { DiagnosticEntry, DownloadProgress, StoreUsage } from './protocol.js';
import { forgetSessionIdentity, sessionIdentityFor } from './sessionIdentity.js';
import { takeControl } from './takeControl.js';
import { DEFAULT_TIMEOUT_MS, diagnosticListeners, listenToWorker, pageKeyId, pageKeys, pageSessions, progressListeners, request, send, sendKey, type PageSession } from './workerChannel.js';

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
  /** In blob mode, the most bytes of media held as blob URLs at once; default 64 MiB. */
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
   * What is stored of this session's media: files, bytes and the most it may keep (`storeBytes`
   * or the default). In blob mode, the blob URLs held and `blobCacheBytes`.
   */
  storeUsage(): Promise<StoreUsage>;
  /**
   * Deletes every stored byte of this session's media (the app's "clear cache") and keeps the
   * session: media goes on loading, from the homeserver. In blob mode, revokes every blob URL.
   */
  clearStore(): Promise<void>;
}

function checkOptions(options: RegisterMediaWorkerOptions): string {
  const homeserverUrl = normalizeHomeserverUrl(options?.homeserverUrl);
  if (homeserverUrl === undefined) {
    throw new MediaSwError(
      'invalid-options',
      '"homeserverUrl" must be the client\'s http(s) base URL, such as https://matrix.example.org, without /_matrix/… or credentials.',
    );
  }
  const token = options.accessToken;
  if (token !== null && (typeof token !== 'string' || token.length === 0)) {
    throw new MediaSwError('invalid-options', '"accessToken" must be a non-empty string, or null when signed out.');
  }
  if (options.storeBytes !== undefined && !(Number.isSafeInteger(options.storeBytes) && options.storeBytes >= 0)) {
    throw new MediaSwError('invalid-options', '"storeBytes" must be a whole number of bytes, 0 or more.');
  }
  if (options.storeMaxAgeMs !== undefined && !(Number.isSafeInteger(options.storeMaxAgeMs) && options.storeMaxAgeMs >= 0)) {
    throw new MediaSwError('invalid-options', '"storeMaxAgeMs" must be a whole number of milliseconds, 0 or more.');
  }
  if (options.refreshAccessToken !== undefined && typeof options.refreshAccessToken !== 'function') {
    throw new MediaSwError('invalid-options', '"refreshAccessToken" must be a function returning a Promise of a token or null.');
  }
  return homeserverUrl;
}

/**
 * Registers the media worker and hands it this page's session. Resolves once the page is
 * controlled and the worker holds the session, so every media element rendered afterwards loads
 * with the token. Rejects with a `MediaSwError` where service workers cannot run.
 */
export async function registerMediaWorker(options: RegisterMediaWorkerOptions): Promise<MediaWorker> {
  const homeserverUrl = checkOptions(options);
  try {
    return await registerWithWorker(options, homeserverUrl);
  } catch (error) {
    if (options.fallback === 'blob' && error instanceof MediaSwError && WORKERLESS.includes(error.code)) {
      return blobModeHandle(options, homeserverUrl, error.message);
    }
    throw error;
  }
}

// Errors that mean "no service worker here", after which the blob fallback may take over.
const WORKERLESS: readonly string[] = ['insecure-context', 'unsupported', 'registration-failed', 'not-controlled'];

async function registerWithWorker(options: RegisterMediaWorkerOptions, homeserverUrl: string): Promise<MediaWorker> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!globalThis.isSecureContext) {
    throw new MediaSwError(
      'insecure-context',
      'Service workers need a secure context: serve the app over https (or from localhost during development).',
    );
  }
  if (!('serviceWorker' in navigator)) {
    throw new MediaSwError(
      'unsupported',
      'This browser offers no service workers here (a private window of an older Firefox, or a policy that disables them).',
    );
  }
  const container = navigator.serviceWorker;
  listenToWorker(container);

  const scriptHref = new URL(options.scriptUrl ?? '/matrix-media-sw.js', location.href).href;
  let registration: ServiceWorkerRegistration;
  try {
    registration = await container.register(scriptHref, {
      scope: options.scope,
      // A stale worker left in the HTTP cache would outlive a deploy.
      updateViaCache: 'none',
    });
  } catch (cause) {
    throw await explainRegistrationFailure(scriptHref, cause);
  }
  // Privacy tools and test harnesses that block workers may stub register() to return nothing.
  if (typeof registration !== 'object' || registration === null || !('scope' in registration)) {
    throw new MediaSwError('unsupported', 'Service workers are blocked in this browser (register() returned no registration).');
  }
  const controller = await takeControl(container, registration, scriptHref, timeoutMs);

  let entry: PageSession = {
    session: { ...sessionIdentityFor(homeserverUrl, (id) => pageSessions.has(id)), homeserverUrl, accessToken: options.accessToken },
    refresh: options.refreshAccessToken,
    confirmed: false,
  };
  pageSessions.set(entry.session.id, entry);
  // Two steps, so that the worker keeps the token in storage only once this page holds the
  // handle that can sign it out: a page that fails or navigates away in between leaves nothing.
  try {
    await send(controller, { type: 'mms/session', session: entry.session, provisional: true, storeBytes: options.storeBytes, storeMaxAgeMs: options.storeMaxAgeMs }, timeoutMs);
    await send(controller, { type: 'mms/confirm', sessionId: entry.session.id, key: entry.session.key }, timeoutMs);
    entry.confirmed = true;
  } catch (error) {
    pageSessions.delete(entry.session.id);
    // The worker may have taken the session after all, too late: it must not keep it.
    controller.postMessage({ type: 'mms/sign-out', sessionId: entry.session.id, key: entry.session.key });
    throw error;
  }

  const worker = (): ServiceWorker => container.controller ?? registration.active ?? controller;
  // Diagnostics and progress share the worker's one switch: on while anybody listens to either.
  async function subscribe<T>(listeners: Set<(value: T) => void>, callback: (value: T) => void): Promise<() => void> {
    listeners.add(callback);
    await send(worker(), { type: 'mms/diagnostics', enabled: true }, timeoutMs);
    return () => {
      listeners.delete(callback);
      if (diagnosticListeners.size + progressListeners.size === 0) {
        void send(worker(), { type: 'mms/diagnostics', enabled: false }, timeoutMs).catch(() => undefined);
      }
    };
  }
  let signedOut = false;

  const handle: MediaWorker = {
    mode: 'service-worker',
    fallbackReason: null,
    registration,
    get sessionId() {
      return entry.session.id;
    },
    async setAccessToken(accessToken) {
      if (accessToken !== null && (typeof accessToken !== 'string' || accessToken.length === 0)) {
        throw new MediaSwError('invalid-options', 'The access token must be a non-empty string, or null.');
      }
      if (signedOut) {
        // Signing in again after signOut starts a new session, so old links stay dead.
        entry = {
          session: { ...sessionIdentityFor(homeserverUrl, (id) => pageSessions.has(id)), homeserverUrl, accessToken },
          refresh: entry.refresh,
          confirmed: true,
        };
        pageSessions.set(entry.session.id, entry);
        signedOut = false;
      }
      entry.session.accessToken = accessToken;
      await send(worker(), { type: 'mms/session', session: entry.session }, timeoutMs);
    },
    async signOut() {
      if (signedOut) return;
      signedOut = true;
      pageSessions.delete(entry.session.id);
      for (const id of [...pageKeys.keys()]) if (id.startsWith(`${entry.session.id} `)) pageKeys.delete(id);
      forgetSessionIdentity(homeserverUrl, entry.session.id);
      await send(worker(), { type: 'mms/sign-out', sessionId: entry.session.id, key: entry.session.key }, timeoutMs);
    },
    async storeUsage() {
      if (signedOut) throw new MediaSwError('signed-out', 'This session has signed out; it stores nothing.');
      const reply = await request(worker(), { type: 'mms/store-usage', sessionId: entry.session.id, key: entry.session.key }, timeoutMs);
      if (reply.type !== 'mms/store-usage-reply') throw new MediaSwError('no-acknowledgement', 'The media worker answered with an unknown message.');
      return reply.usage;
    },
    async clearStore() {
      if (signedOut) return;
      await send(worker(), { type: 'mms/clear-store', sessionId: entry.session.id, key: entry.session.key }, timeoutMs);
    },
    onDiagnostic: (callback) => subscribe(diagnosticListeners, callback),
    onProgress: (callback) => subscribe(progressListeners, callback),
    mediaUrl(mxc, mediaOptions) {
      if (signedOut) throw new MediaSwError('signed-out', 'This session has signed out; call setAccessToken to sign in again.');
      return buildMediaUrl(registration.scope, entry.session.id, mxc, mediaOptions);
    },
    encryptedMediaUrl(file, mediaOptions) {
      if (signedOut) throw new MediaSwError('signed-out', 'This session has signed out; call setAccessToken to sign in again.');
      const checked = checkEncryptedFile(file);
      const options = checkEncryptedMediaOptions(mediaOptions);
      const { mimetype } = options;
      const fileId = encryptedFileId(checked);
      const { id, key } = entry.session;
      pageKeys.set(pageKeyId(id, fileId), { file: checked, mimetype: mimetype ?? null });
      // The worker gets the key now; one the browser restarts asks this page for it again.
      sendKey(worker, id, key, { fileId, file: checked, mimetype: mimetype ?? null });
      return buildEncryptedMediaUrl(registration.scope, id, fileId, options);
    },
    loadMedia: async (source, mediaOptions) =>
      typeof source === 'string' ? handle.mediaUrl(source, mediaOptions) : handle.encryptedMediaUrl(source, mediaOptions),
    releaseMedia: () => undefined,
  };
  return handle;
}
