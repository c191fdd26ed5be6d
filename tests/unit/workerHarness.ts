/** A worker's media handler against a fake homeserver (a fetch stub), for the handler's unit tests. */
import { IDBFactory } from 'fake-indexeddb';
import { createStore } from 'idb-keyval';
import { vi } from 'vitest';
import type { Reply, WorkerToPageMessage } from '../../src/protocol.js';
import { classifyMediaUrl } from '../../sw/routing/classifyMediaUrl.js';
import type { ClientInfo } from '../../sw/session/askClient.js';
import { newTrace, type RequestTrace } from '../../sw/diagnostics.js';
import { SessionFinder } from '../../sw/session/findSession.js';
import { handleMediaRequest, type MediaHandlerContext } from '../../sw/handleMediaRequest.js';
import { MemoryBudget } from '../../sw/store/memoryBudget.js';
import { MediaStore } from '../../sw/store/mediaStore.js';
import { EncryptionKeys } from '../../sw/encrypted/encryptionKeys.js';
import { SessionStore } from '../../sw/session/sessionStore.js';
import { TokenRefresher } from '../../sw/session/TokenRefresher.js';
import { VersionsCache } from '../../sw/session/versionsCache.js';
import { AuthenticatedPath } from '../../sw/session/authenticatedPath.js';

export const SCOPE = 'https://app.example/';
export const HS = 'https://hs.example';
export const KEY = 'k'.repeat(32);

/** What the fake homeserver received. */
interface Seen {
  url: string;
  method: string;
  authorization: string | null;
  range: string | null;
  mode: RequestMode;
}

export type Route = (request: Request, token: string | null) => Response | Promise<Response>;

export function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
}

export interface SetupOptions {
  versions?: string[];
  /** Answers `/_matrix/client/versions` instead of the default (which lists `versions`). */
  versionsRoute?: () => Response | Promise<Response>;
  route?: Route;
  /** The pause before a request that got no response is sent again; real timers by default. */
  sleep?: (ms: number) => Promise<void>;
  ask?: (clientId: string, m: WorkerToPageMessage) => Reply | undefined;
  clients?: Record<string, ClientInfo>;
}

export function setup(options: SetupOptions = {}) {
  globalThis.indexedDB = new IDBFactory();
  const seen: Seen[] = [];
  const fetchFn = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = input instanceof Request ? input : new Request(input, init);
    seen.push({ url: request.url, method: request.method, authorization: request.headers.get('Authorization'), range: request.headers.get('Range'), mode: request.mode });
    if (request.url.endsWith('/_matrix/client/versions')) return options.versionsRoute ? options.versionsRoute() : json(200, { versions: options.versions ?? ['v1.11'] });
    const token = request.headers.get('Authorization')?.replace(/^Bearer /, '') ?? null;
    if (options.route) return options.route(request, token);
    return new Response('media bytes', { status: 200, headers: { 'Content-Type': 'image/png', 'Content-Length': '11' } });
  });
  const asked: WorkerToPageMessage[] = [];
  const ask = vi.fn(async (clientId: string, message: WorkerToPageMessage) => {
    asked.push(message);
    return options.ask?.(clientId, message);
  });
  const sessions = new SessionStore(createStore('matrix-media-sw', 'sessions'));
  const ctx: MediaHandlerContext = {
    finder: new SessionFinder(sessions, ask, async (id) => options.clients?.[id]),
    versions: new VersionsCache(fetchFn),
    paths: new AuthenticatedPath({ fetch: fetchFn, sleep: options.sleep }),
    refresher: new TokenRefresher(sessions, ask),
    fetch: fetchFn,
    store: new MediaStore({ chunkBytes: 4, quota: async () => undefined }),
    downloads: new Map(),
    opening: new Map(),
    asked: new Map(),
    clears: new Map(),
    memory: new MemoryBudget(),
    keys: new EncryptionKeys(ask),
    verified: new Map(),
  };
  /** What the handler filled in for each request, in order (who may hear of it, where it went). */
  const traces: RequestTrace[] = [];
  async function request(url: string, init: RequestInit & { clientId?: string } = {}): Promise<Response> {
    const media = classifyMediaUrl(new URL(url), SCOPE);
    if (!media) throw new Error(`the worker would not take ${url}`);
    const req = new Request(url, init);
    const clientId = init.clientId ?? 'tab-1';
    const trace = newTrace(clientId);
    traces.push(trace);
    // As the Service Workers spec has it: once the handler has answered and every promise that
    // extended the event has settled, the event is over and waitUntil throws.
    let extending = 0;
    let answered = false;
    const waitUntil = (promise: Promise<unknown>) => {
      if (answered && extending === 0) throw new DOMException('The event has ended.', 'InvalidStateError');
      extending += 1;
      pending.push(promise);
      void promise.finally(() => (extending -= 1)).catch(() => undefined);
    };
    return handleMediaRequest(ctx, { request: req, clientId, media, trace, waitUntil }).finally(() => (answered = true));
  }
  const mediaSeen = () => seen.filter((s) => !s.url.endsWith('/versions'));
  // Downloads the store keeps run on after their response; tests wait for them to end.
  const pending: Array<Promise<unknown>> = [];
  const settled = () => Promise.all(pending);
  return { ctx, sessions, seen, mediaSeen, asked, ask, request, settled, traces };
}

