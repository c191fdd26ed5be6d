import { BlobMediaLoader } from './blobFallback.js';
import { normalizeHomeserverUrl } from './homeserverUrl.js';
import { MediaSwError } from './MediaSwError.js';
import { buildMediaUrl, type MediaUrlOptions } from './mediaUrl.js';
import {
  asReply,
  asWorkerToPageMessage,
  PROTOCOL_VERSION,
  type DiagnosticEntry,
  type PageToWorkerMessage,
  type Reply,
  type SessionInit,
} from './protocol.js';

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
   * A URL to show `mxc` with, in either mode: the `mediaUrl` with a worker, a blob URL in blob
   * mode (call `releaseMedia` when it is no longer shown).
   */
  loadMedia(mxc: string, options?: MediaUrlOptions): Promise<string>;
  /** Frees a blob URL from `loadMedia` (nothing to do with a worker). */
  releaseMedia(url: string): void;
  /**
   * Calls `callback` with what the worker did for each media request from now on (URLs without
   * tokens, status, bytes, time). Nothing is reported until asked. Returns a function that stops it.
   */
  onDiagnostic(callback: (entry: DiagnosticEntry) => void): Promise<() => void>;
}

interface PageSession {
  session: SessionInit;
  refresh: (() => Promise<string | null>) | undefined;
}

const DEFAULT_TIMEOUT_MS = 10_000;

// One listener per page answers the worker for every handle the page holds.
const pageSessions = new Map<string, PageSession>();
const diagnosticListeners = new Set<(entry: DiagnosticEntry) => void>();
let listening = false;
let warnedAboutVersion = false;

function sessionStorageKey(homeserverUrl: string): string {
  return `matrix-media-sw:session:${homeserverUrl}`;
}

function randomHex(bytes: number): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(bytes)), (b) => b.toString(16).padStart(2, '0')).join('');
}

interface SessionIdentity {
  id: string;
  key: string;
}

// The id and key survive reloads of this tab (sessionStorage), so `mediaUrl` links opened from
// it keep working, while another tab, possibly signed in as someone else, gets its own.
function sessionIdentityFor(homeserverUrl: string): SessionIdentity {
  const fresh = { id: randomHex(16), key: randomHex(16) };
  try {
    const key = sessionStorageKey(homeserverUrl);
    const stored = JSON.parse(sessionStorage.getItem(key) ?? 'null') as Partial<SessionIdentity> | null;
    if (
      stored &&
      typeof stored.id === 'string' &&
      /^[0-9a-f]{32}$/.test(stored.id) &&
      typeof stored.key === 'string' &&
      /^[0-9a-f]{32}$/.test(stored.key) &&
      !pageSessions.has(stored.id)
    ) {
      return { id: stored.id, key: stored.key };
    }
    sessionStorage.setItem(key, JSON.stringify(fresh));
  } catch {
    // Storage disabled: the session lasts as long as the page.
  }
  return fresh;
}

function forgetSessionIdentity(homeserverUrl: string, id: string): void {
  try {
    const key = sessionStorageKey(homeserverUrl);
    const stored = JSON.parse(sessionStorage.getItem(key) ?? 'null') as Partial<SessionIdentity> | null;
    if (stored?.id === id) sessionStorage.removeItem(key);
  } catch {
    // Storage disabled: nothing was kept.
  }
}

async function answerWorker(event: MessageEvent): Promise<void> {
  const message = asWorkerToPageMessage(event.data);
  if (message?.type === 'mms/diagnostic') {
    for (const listener of diagnosticListeners) listener(message.entry);
    return;
  }
  const port = event.ports[0];
  if (!message || !port) return;
  switch (message.type) {
    case 'mms/session-request':
      port.postMessage({ type: 'mms/session-reply', sessions: [...pageSessions.values()].map((s) => s.session) } satisfies Reply);
      return;
    case 'mms/refresh-request': {
      const owner = pageSessions.get(message.sessionId);
      let accessToken: string | null = null;
      try {
        accessToken = owner?.refresh ? await owner.refresh() : null;
      } catch {
        // The app's refresh failed; the element gets the homeserver's 401.
      }
      if (typeof accessToken !== 'string' || accessToken.length === 0) accessToken = null;
      if (owner && accessToken !== null && pageSessions.get(message.sessionId) === owner) owner.session.accessToken = accessToken;
      port.postMessage({ type: 'mms/refresh-reply', accessToken } satisfies Reply);
      return;
    }
    default: {
      const unreachable: never = message;
      return unreachable;
    }
  }
}

function listenToWorker(container: ServiceWorkerContainer): void {
  if (listening) return;
  listening = true;
  container.addEventListener('message', (event) => void answerWorker(event));
  // After an update the new worker controls the page; tell it about every session here.
  container.addEventListener('controllerchange', () => {
    const controller = container.controller;
    if (!controller) return;
    for (const { session } of pageSessions.values()) {
      void send(controller, { type: 'mms/session', session }, DEFAULT_TIMEOUT_MS).catch(() => undefined);
    }
    if (diagnosticListeners.size > 0) {
      void send(controller, { type: 'mms/diagnostics', enabled: true }, DEFAULT_TIMEOUT_MS).catch(() => undefined);
    }
  });
  // Messages a worker sent before this listener existed are held until startMessages().
  container.startMessages();
}

/** Posts `message` to `worker` and waits for its acknowledgement on a private port. */
function send(worker: ServiceWorker, message: PageToWorkerMessage, timeoutMs: number): Promise<void> {
  const channel = new MessageChannel();
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      channel.port1.close();
      reject(
        new MediaSwError(
          'no-acknowledgement',
          `The media worker did not answer within ${timeoutMs} ms. Check that the script URL serves dist/matrix-media-sw.js.`,
        ),
      );
    }, timeoutMs);
    channel.port1.onmessage = (event) => {
      clearTimeout(timer);
      channel.port1.close();
      const reply = asReply(event.data);
      if (reply?.type === 'mms/ack') {
        if (reply.version !== PROTOCOL_VERSION && !warnedAboutVersion) {
          warnedAboutVersion = true;
          console.warn(
            `matrix-media-sw: the worker is version ${reply.version} but the page expects ${PROTOCOL_VERSION}; serve the worker script from the same package version.`,
          );
        }
        resolve();
      } else if (reply?.type === 'mms/error') {
        reject(new MediaSwError(reply.code, reply.message));
      } else {
        reject(new MediaSwError('no-acknowledgement', 'The media worker answered with an unknown message.'));
      }
    };
    worker.postMessage(message, [channel.port2]);
  });
}

function waitForActivation(registration: ServiceWorkerRegistration, timeoutMs: number): Promise<ServiceWorker> {
  if (registration.active) return Promise.resolve(registration.active);
  const worker = registration.installing ?? registration.waiting;
  if (!worker) return Promise.reject(new MediaSwError('registration-failed', 'The registration has no worker.'));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new MediaSwError('registration-failed', `The media worker did not activate within ${timeoutMs} ms.`)),
      timeoutMs,
    );
    worker.addEventListener('statechange', () => {
      if (worker.state === 'activated') {
        clearTimeout(timer);
        resolve(worker);
      } else if (worker.state === 'redundant') {
        clearTimeout(timer);
        reject(new MediaSwError('registration-failed', 'The media worker failed to install; its script threw or could not be fetched.'));
      }
    });
  });
}

/** Resolves once this page is controlled; a hard reload leaves it uncontrolled until the worker claims it. */
async function waitForControl(container: ServiceWorkerContainer, active: ServiceWorker, timeoutMs: number): Promise<ServiceWorker> {
  if (container.controller) return container.controller;
  const controlled = new Promise<void>((resolve) => container.addEventListener('controllerchange', () => resolve(), { once: true }));
  await send(active, { type: 'mms/claim' }, timeoutMs);
  if (!container.controller) {
    await Promise.race([controlled, new Promise((resolve) => setTimeout(resolve, timeoutMs))]);
  }
  if (!container.controller) {
    throw new MediaSwError(
      'not-controlled',
      'The media worker is active but does not control this page: the page lies outside its scope. Serve the worker at the site root or pass a scope that covers the page (with Service-Worker-Allowed if needed).',
    );
  }
  return container.controller;
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

function blobModeHandle(options: RegisterMediaWorkerOptions, homeserverUrl: string, reason: string): MediaWorker {
  const loader = new BlobMediaLoader({
    homeserverUrl,
    accessToken: options.accessToken,
    refreshAccessToken: options.refreshAccessToken,
    maxBytes: options.blobCacheBytes,
  });
  return {
    mode: 'blob',
    fallbackReason: reason,
    registration: null,
    sessionId: '',
    async setAccessToken(accessToken) {
      loader.setAccessToken(accessToken);
    },
    async signOut() {
      loader.setAccessToken(null);
      loader.clear();
    },
    mediaUrl() {
      throw new MediaSwError('unsupported', 'In blob mode no URL works by itself (there is no worker to add the token): use loadMedia().');
    },
    loadMedia: (mxc, mediaOptions) => loader.load(mxc, mediaOptions),
    releaseMedia: (url) => loader.release(url),
    async onDiagnostic(callback) {
      return loader.onDiagnostic(callback);
    },
  };
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

  let registration: ServiceWorkerRegistration;
  try {
    registration = await container.register(options.scriptUrl ?? '/matrix-media-sw.js', {
      scope: options.scope,
      // A stale worker left in the HTTP cache would outlive a deploy.
      updateViaCache: 'none',
    });
  } catch (cause) {
    const reason = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
    throw new MediaSwError('registration-failed', `The browser refused to register the media worker (${reason}).`, { cause });
  }
  // Privacy tools and test harnesses that block workers may stub register() to return nothing.
  if (typeof registration !== 'object' || registration === null || !('scope' in registration)) {
    throw new MediaSwError('unsupported', 'Service workers are blocked in this browser (register() returned no registration).');
  }
  const active = await waitForActivation(registration, timeoutMs);
  const controller = await waitForControl(container, active, timeoutMs);

  let entry: PageSession = {
    session: { ...sessionIdentityFor(homeserverUrl), homeserverUrl, accessToken: options.accessToken },
    refresh: options.refreshAccessToken,
  };
  pageSessions.set(entry.session.id, entry);
  try {
    await send(controller, { type: 'mms/session', session: entry.session }, timeoutMs);
  } catch (error) {
    pageSessions.delete(entry.session.id);
    throw error;
  }

  const worker = (): ServiceWorker => container.controller ?? registration.active ?? controller;
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
        entry = { session: { ...sessionIdentityFor(homeserverUrl), homeserverUrl, accessToken }, refresh: entry.refresh };
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
      forgetSessionIdentity(homeserverUrl, entry.session.id);
      await send(worker(), { type: 'mms/sign-out', sessionId: entry.session.id, key: entry.session.key }, timeoutMs);
    },
    async onDiagnostic(callback) {
      diagnosticListeners.add(callback);
      await send(worker(), { type: 'mms/diagnostics', enabled: true }, timeoutMs);
      return () => {
        diagnosticListeners.delete(callback);
        if (diagnosticListeners.size === 0) void send(worker(), { type: 'mms/diagnostics', enabled: false }, timeoutMs).catch(() => undefined);
      };
    },
    mediaUrl(mxc, mediaOptions) {
      if (signedOut) throw new MediaSwError('signed-out', 'This session has signed out; call setAccessToken to sign in again.');
      return buildMediaUrl(registration.scope, entry.session.id, mxc, mediaOptions);
    },
    loadMedia: async (mxc, mediaOptions) => handle.mediaUrl(mxc, mediaOptions),
    releaseMedia: () => undefined,
  };
  return handle;
}
