/// <reference lib="webworker" />
import { Route } from 'workbox-routing';
import { askClient, clientInfo } from './session/askClient.js';
import { classifyMediaUrl, type MediaRequest } from './routing/classifyMediaUrl.js';
import { Diagnostics, newTrace } from './diagnostics.js';
import { SessionFinder } from './session/findSession.js';
import { handleMediaRequest, type MediaHandlerContext } from './handleMediaRequest.js';
import { EncryptionKeys } from './encrypted/encryptionKeys.js';
import { MediaStore } from './store/mediaStore.js';
import { MemoryBudget } from './store/memoryBudget.js';
import { SessionStore } from './session/sessionStore.js';
import { TokenRefresher } from './session/TokenRefresher.js';
import { VersionsCache } from './session/versionsCache.js';
import { AuthenticatedPath } from './session/authenticatedPath.js';
import type { CheckedFile } from './encrypted/verifyHash.js';

declare let self: ServiceWorkerGlobalScope;

/** The worker's shared state: one per worker, shared by the route and the message handler. */
export interface MediaWorkerState extends MediaHandlerContext {
  sessions: SessionStore;
  diagnostics: Diagnostics;
  clears: Map<string, number>;
  memory: MemoryBudget;
}

export function createMediaWorkerState(): MediaWorkerState {
  const sessions = new SessionStore();
  const diagnostics = new Diagnostics();
  const store = new MediaStore();
  const verified = new Map<string, Promise<CheckedFile>>();
  // A file dropped from the store must be hashed again when it is downloaded again.
  store.onDelete = (key) => {
    for (const check of verified.keys()) if (check.startsWith(`${key} `)) verified.delete(check);
  };
  return {
    sessions,
    finder: new SessionFinder(sessions, askClient, clientInfo),
    versions: new VersionsCache(),
    paths: new AuthenticatedPath(),
    refresher: new TokenRefresher(sessions, askClient),
    diagnostics,
    fetch: (input, init) => fetch(input, init),
    store,
    downloads: new Map(),
    opening: new Map(),
    asked: new Map(),
    clears: new Map(),
    memory: new MemoryBudget(),
    keys: new EncryptionKeys(askClient),
    verified,
    progress: (file, { loaded, total }) => diagnostics.progress({ media: file.mediaName, loaded, total }, sessions.clientIdsOf(file.sessionId)),
  };
}

/**
 * A workbox-routing Route for Matrix media. The match is synchronous and looks only at the URL
 * (a restarted worker gets its first request before storage could be read); the handler waits
 * for the sessions.
 */
export function createMediaRoute(state: MediaWorkerState): Route {
  return new Route(
    ({ url }) => classifyMediaUrl(url, self.registration.scope),
    async ({ request, event, params }) => {
      const fetchEvent = event as FetchEvent;
      const started = Date.now();
      // A navigation has no client of its own yet: its resultingClientId exists only once the
      // response has come, so anything that waited for that client would wait for ever.
      const clientId = request.mode === 'navigate' ? '' : fetchEvent.clientId;
      const trace = newTrace(clientId);
      try {
        const response = await handleMediaRequest(state, {
          request,
          clientId,
          media: params as MediaRequest,
          trace,
          waitUntil: (promise) => fetchEvent.waitUntil(promise),
        });
        return state.diagnostics.observe(request.url, started, trace, response);
      } catch (error) {
        state.diagnostics.failed(request.url, started, trace, error);
        throw error;
      }
    },
    'GET',
  );
}
