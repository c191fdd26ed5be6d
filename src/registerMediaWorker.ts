import { normalizeHomeserverUrl } from './homeserverUrl.js';
import { MediaSwError } from './MediaSwError.js';
import { checkEncryptedFile, type EncryptedFile } from './encryptedFile.js';
import { buildEncryptedMediaUrl, buildMediaUrl, checkEncryptedMediaOptions, type EncryptedMediaOptions, type MediaUrlOptions } from './mediaUrl.js';
import type { MediaWorker, RegisterMediaWorkerOptions } from './mediaWorker.js';
import type { DiagnosticEntry, DownloadProgress, StoreUsage } from './protocol.js';
import { forgetSessionIdentity, sessionIdentityFor } from './sessionIdentity.js';
import { takeControl } from './takeControl.js';
import { DEFAULT_TIMEOUT_MS, diagnosticListeners, listenToWorker, pageKeyId, pageKeys, pageSessions, progressListeners, request, send, sendKey, type PageSession } from './workerChannel.js';


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
      // Loaded only here: most pages never need blob mode.
      const { blobModeHandle } = await import('./blobModeHandle.js');
      return blobModeHandle(options, homeserverUrl, error.message);
    }
    throw error;
  }
}

// Errors that mean "no service worker here", after which the blob fallback may take over.
const WORKERLESS: readonly string[] = ['insecure-context', 'unsupported', 'registration-failed', 'not-controlled'];

/** This page's session for one homeserver, shared by every handle its registrations returned. */
interface TabSession {
  entry: PageSession;
  signedOut: boolean;
  /** How many registrations have taken it: the latest one's token and options are the session's. */
  latest: number;
}

/** By homeserver URL: the session each registration of this page for that homeserver takes. */
const tabSessions = new Map<string, TabSession>();

function newEntry(homeserverUrl: string, accessToken: string | null, refresh: PageSession['refresh']): PageSession {
  return { session: { ...sessionIdentityFor(homeserverUrl, (id) => pageSessions.has(id)), homeserverUrl, accessToken }, refresh, confirmed: false };
}

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
  // The hash behind encrypted URLs' ids, fetched while the worker registers (which takes longer).
  const fileIds = import('./encryptedFileId.js');
  // A page that gives up before it is awaited must not see an unhandled rejection.
  fileIds.catch(() => undefined);

  // One session per homeserver in this page, taken by the latest registration: React's
  // StrictMode runs a mount effect twice, and an app that keeps either handle must reach it.
  const existing = tabSessions.get(homeserverUrl);
  if (existing) {
    console.warn(
      `matrix-media-sw: registerMediaWorker was called again for ${homeserverUrl} in this page (React StrictMode runs effects twice in development). ` +
        'The latest call holds the session, with its token; every handle of this page for that homeserver reaches it, and signOut() on any of them signs it out.',
    );
  }
  const slot: TabSession = existing ?? { entry: newEntry(homeserverUrl, options.accessToken, undefined), signedOut: false, latest: 0 };
  tabSessions.set(homeserverUrl, slot);
  // Claimed before anything is awaited, so that the call made last is the latest whichever
  // registration's steps finish first.
  const mine = ++slot.latest;
  slot.entry.session.accessToken = options.accessToken;
  slot.entry.refresh = options.refreshAccessToken;

  // A registration that fails before the session is confirmed leaves the page as it found it.
  const abandon = () => {
    if (slot.latest === mine && !slot.entry.confirmed && tabSessions.get(homeserverUrl) === slot) tabSessions.delete(homeserverUrl);
  };

  const scriptHref = new URL(options.scriptUrl ?? '/matrix-media-sw.js', location.href).href;
  let registration: ServiceWorkerRegistration;
  try {
    registration = await container.register(scriptHref, {
      scope: options.scope,
      // A stale worker left in the HTTP cache would outlive a deploy.
      updateViaCache: 'none',
    });
  } catch (cause) {
    abandon();
    const { explainRegistrationFailure } = await import('./explainRegistrationFailure.js');
    throw await explainRegistrationFailure(scriptHref, cause);
  }
  // Privacy tools and test harnesses that block workers may stub register() to return nothing.
  if (typeof registration !== 'object' || registration === null || !('scope' in registration)) {
    abandon();
    throw new MediaSwError('unsupported', 'Service workers are blocked in this browser (register() returned no registration).');
  }
  let controller: ServiceWorker;
  let encryptedFileId: (file: EncryptedFile) => string;
  try {
    controller = await takeControl(container, registration, scriptHref, timeoutMs);
    ({ encryptedFileId } = await fileIds);
  } catch (error) {
    abandon();
    throw error;
  }

  const entry = slot.entry;
  pageSessions.set(entry.session.id, entry);
  // Two steps, so that the worker keeps the token in storage only once this page holds the
  // handle that can sign it out: a page that fails or navigates away in between leaves nothing.
  // A later registration of this page may have changed the token meanwhile: the latest is sent.
  const handOver = () =>
    send(controller, { type: 'mms/session', session: entry.session, provisional: true, storeBytes: options.storeBytes, storeMaxAgeMs: options.storeMaxAgeMs }, timeoutMs);
  const refusedId = entry.session.id;
  try {
    try {
      await handOver();
    } catch (error) {
      // A window that inherited this tab's sessionStorage (window.open, "Duplicate tab") brought
      // the id and key of a session another open page holds: the worker refuses it, and this
      // page takes a session of its own.
      if (!(error instanceof MediaSwError && error.code === 'bad-message') || entry.confirmed) throw error;
      // A second registration of this page refused at the same time takes the same new identity.
      if (entry.session.id === refusedId) {
        pageSessions.delete(entry.session.id);
        Object.assign(entry.session, sessionIdentityFor(homeserverUrl, () => true));
        pageSessions.set(entry.session.id, entry);
      }
      await handOver();
    }
    await send(controller, { type: 'mms/confirm', sessionId: entry.session.id, key: entry.session.key }, timeoutMs);
    entry.confirmed = true;
  } catch (error) {
    // Another registration of this page holds the session, or will: it is not this one's to drop.
    if (slot.latest === mine && !entry.confirmed) {
      pageSessions.delete(entry.session.id);
      if (tabSessions.get(homeserverUrl) === slot) tabSessions.delete(homeserverUrl);
      // The worker may have taken the session after all, too late: it must not keep it.
      controller.postMessage({ type: 'mms/sign-out', sessionId: entry.session.id, key: entry.session.key });
    }
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

  const handle: MediaWorker = {
    mode: 'service-worker',
    fallbackReason: null,
    registration,
    get sessionId() {
      return slot.entry.session.id;
    },
    async setAccessToken(accessToken) {
      if (accessToken !== null && (typeof accessToken !== 'string' || accessToken.length === 0)) {
        throw new MediaSwError('invalid-options', 'The access token must be a non-empty string, or null.');
      }
      if (slot.signedOut) {
        // Signing in again after signOut starts a new session, so old links stay dead.
        slot.entry = newEntry(homeserverUrl, accessToken, slot.entry.refresh);
        slot.entry.confirmed = true;
        pageSessions.set(slot.entry.session.id, slot.entry);
        tabSessions.set(homeserverUrl, slot);
        slot.signedOut = false;
      }
      slot.entry.session.accessToken = accessToken;
      await send(worker(), { type: 'mms/session', session: slot.entry.session }, timeoutMs);
    },
    async signOut() {
      if (slot.signedOut) return;
      slot.signedOut = true;
      if (tabSessions.get(homeserverUrl) === slot) tabSessions.delete(homeserverUrl);
      pageSessions.delete(slot.entry.session.id);
      for (const id of [...pageKeys.keys()]) if (id.startsWith(`${slot.entry.session.id} `)) pageKeys.delete(id);
      forgetSessionIdentity(homeserverUrl, slot.entry.session.id);
      await send(worker(), { type: 'mms/sign-out', sessionId: slot.entry.session.id, key: slot.entry.session.key }, timeoutMs);
    },
    async storeUsage() {
      if (slot.signedOut) throw new MediaSwError('signed-out', 'This session has signed out; it stores nothing.');
      const reply = await request(worker(), { type: 'mms/store-usage', sessionId: slot.entry.session.id, key: slot.entry.session.key }, timeoutMs);
      if (reply.type !== 'mms/store-usage-reply') throw new MediaSwError('no-acknowledgement', 'The media worker answered with an unknown message.');
      return reply.usage;
    },
    async clearStore() {
      if (slot.signedOut) return;
      await send(worker(), { type: 'mms/clear-store', sessionId: slot.entry.session.id, key: slot.entry.session.key }, timeoutMs);
    },
    onDiagnostic: (callback) => subscribe(diagnosticListeners, callback),
    onProgress: (callback) => subscribe(progressListeners, callback),
    mediaUrl(mxc, mediaOptions) {
      if (slot.signedOut) throw new MediaSwError('signed-out', 'This session has signed out and is forgotten, with its URLs; setAccessToken(token) on this handle starts a new session.');
      return buildMediaUrl(registration.scope, slot.entry.session.id, mxc, mediaOptions);
    },
    encryptedMediaUrl(file, mediaOptions) {
      if (slot.signedOut) throw new MediaSwError('signed-out', 'This session has signed out and is forgotten, with its URLs; setAccessToken(token) on this handle starts a new session.');
      const checked = checkEncryptedFile(file);
      const options = checkEncryptedMediaOptions(mediaOptions);
      const { mimetype } = options;
      const fileId = encryptedFileId(checked);
      const { id, key } = slot.entry.session;
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
