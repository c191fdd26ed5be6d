import type { HomeserverMediaRequest, LocalMediaRequest, MediaRequest } from './routing/classifyMediaUrl.js';
import type { RequestTrace } from './diagnostics.js';
import { FORBIDDEN, type SessionFinder } from './session/findSession.js';
import { toLocalResponse } from './upstream/localResponse.js';
import { emulateRange } from './upstream/rangeResponse.js';
import { retryDelay, uploadWaitOf } from './upstream/retryPolicy.js';
import type { StoredSession } from './session/sessionStore.js';
import type { TokenRefresher } from './session/TokenRefresher.js';
import { authenticatedUrl, legacyUrl, unauthenticatedUrl, withoutAccessToken } from './routing/upstreamUrl.js';
import { readShortBody } from './upstream/readBody.js';
import { markStandIn } from './upstream/standIn.js';
import { fetchWithTimeout, resendOnNoResponse, RESPONSE_HEADERS_TIMEOUT_MS } from './upstream/upstreamRequest.js';
import type { VersionsCache } from './session/versionsCache.js';
import type { AuthenticatedPath } from './session/authenticatedPath.js';
import { encryptedResponse, serveEncrypted, type EncryptedContext } from './encrypted/serveEncrypted.js';
import { clearsOf, serveThroughStore, storeKey } from './store/serveThroughStore.js';

/** What the media handler needs from the worker; tests pass their own. */
export interface MediaHandlerContext extends EncryptedContext {
  finder: SessionFinder;
  versions: VersionsCache;
  /** Whether each homeserver's media may carry the token, and what a request without a response means. */
  paths: AuthenticatedPath;
  refresher: TokenRefresher;
  fetch: typeof fetch;
}

/** The parts of a fetch event the handler reads. */
export interface MediaFetch {
  request: Request;
  clientId: string;
  media: MediaRequest;
  /** Filled in with what was done, for diagnostics. */
  trace: RequestTrace;
  /** Keeps the worker alive for work that outlasts the response (a download the store keeps). */
  waitUntil?: (promise: Promise<unknown>) => void;
}

function jsonError(status: number, errcode: string, error: string): Response {
  return new Response(JSON.stringify({ errcode, error }), {
    status,
    headers: { 'Content-Type': 'application/json', 'X-Content-Type-Options': 'nosniff' },
  });
}

/** How long a Matrix error's body may take to arrive, and how large it may be, before the worker answers for it. */
export const ERROR_BODY_TIMEOUT_MS = 5_000;
const ERROR_BODY_MAX_BYTES = 64 * 1024;

interface MatrixErrorBody {
  errcode: string | undefined;
  retryAfterMs: number | undefined;
  /** What the element gets: the same status, headers and body, read into memory. */
  response: Response;
}

/**
 * The Matrix error of a response, with the response to pass on. The body is read within a bound:
 * a server that sends the status and then stalls must not hold the element, or the requests that
 * wait on this one, for ever. A body that does not arrive in time is answered for by the worker.
 */
async function readMatrixError(response: Response): Promise<MatrixErrorBody> {
  if (response.ok || !response.body || !(response.headers.get('Content-Type') ?? '').includes('json')) {
    return { errcode: undefined, retryAfterMs: undefined, response };
  }
  const bytes = await readShortBody(response.body, ERROR_BODY_MAX_BYTES, ERROR_BODY_TIMEOUT_MS);
  if (bytes === undefined) {
    const late = jsonError(response.status, 'MMS_ERROR_BODY_UNREAD', `The homeserver answered ${response.status}, and its error body did not arrive whole within ${ERROR_BODY_TIMEOUT_MS / 1000} s.`);
    return { errcode: undefined, retryAfterMs: undefined, response: late };
  }
  // The bytes as decoded: a compressed body's length and encoding no longer describe them.
  const headers = new Headers(response.headers);
  headers.delete('Content-Encoding');
  headers.set('Content-Length', String(bytes.byteLength));
  const again = new Response(bytes, { status: response.status, statusText: response.statusText, headers });
  try {
    const body = JSON.parse(new TextDecoder().decode(bytes)) as { errcode?: unknown; retry_after_ms?: unknown } | null;
    return {
      errcode: typeof body?.errcode === 'string' ? body.errcode : undefined,
      retryAfterMs: typeof body?.retry_after_ms === 'number' ? body.retry_after_ms : undefined,
      response: again,
    };
  } catch {
    return { errcode: undefined, retryAfterMs: undefined, response: again };
  }
}

/**
 * Fetches `url`, trying again after a 429 (after `retry_after_ms`, within a bound) and after an
 * early 504 M_NOT_YET_UPLOADED (while the request's `timeout_ms` allows).
 */
async function fetchWithRetries(ctx: MediaHandlerContext, url: string, request: Request, token: string | null, search: string): Promise<Response> {
  const started = Date.now();
  const uploadWaitMs = uploadWaitOf(search);
  // A server may hold a not-yet-uploaded request for timeout_ms before it answers.
  const headersTimeoutMs = Math.max(RESPONSE_HEADERS_TIMEOUT_MS, uploadWaitMs + 5_000);
  let rateLimitedRetries = 0;
  for (;;) {
    const response = await fetchWithTimeout(ctx.fetch, url, request, token, headersTimeoutMs);
    if (response.status !== 429 && response.status !== 504) return response;
    const error = await readMatrixError(response);
    const delay = retryDelay({ status: response.status, errcode: error.errcode, retryAfterMs: error.retryAfterMs }, { rateLimitedRetries, elapsedMs: Date.now() - started, uploadWaitMs });
    if (delay === undefined) return error.response;
    if (response.status === 429) rateLimitedRetries += 1;
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
}

/**
 * Fetches `target` from the homeserver with the session's token: once more with a refreshed
 * token after 401 M_UNKNOWN_TOKEN, and from the legacy endpoint, without a token, after
 * 404 M_UNRECOGNIZED (a server older than Matrix 1.11) or where the homeserver is judged to
 * refuse the token at the CORS layer (`ctx.paths` decides that, and what a request that got no
 * response means: see sw/session/authenticatedPath.ts).
 */
async function fetchAuthenticated(
  ctx: MediaHandlerContext,
  base: string,
  target: HomeserverMediaRequest | LocalMediaRequest,
  session: StoredSession & { accessToken: string },
  request: Request,
  clientId: string,
  trace: RequestTrace,
): Promise<Response> {
  const url = authenticatedUrl(base, target);
  const send = (token: string) => {
    trace.upstreamUrl = url;
    trace.outcome = 'authenticated';
    return ctx.paths.send(
      base,
      () => fetchWithRetries(ctx, url, request, token, target.search),
      () => withoutToken(ctx, base, target, request, trace),
    );
  };
  let response = await send(session.accessToken);
  if (trace.outcome !== 'authenticated') return response;
  let error = response.status === 401 || response.status === 404 ? await readMatrixError(response) : undefined;
  if (error) response = error.response;
  if (response.status === 401 && error?.errcode === 'M_UNKNOWN_TOKEN') {
    const token = await ctx.refresher.refresh(session, session.accessToken, clientId);
    if (token !== null) {
      response = await send(token);
      if (trace.outcome !== 'authenticated') return response;
      error = response.status === 404 ? await readMatrixError(response) : undefined;
      if (error) response = error.response;
    }
  }
  if (response.status === 404 && error?.errcode === 'M_UNRECOGNIZED') {
    trace.upstreamUrl = legacyUrl(base, target);
    trace.outcome = 'unauthenticated';
    response = await fetchWithRetries(ctx, trace.upstreamUrl, request, null, target.search);
  }
  return response;
}

/**
 * What the request gets without a token, when its homeserver's authenticated endpoint cannot be
 * reached from a browser (Dendrite 0.13 refuses its CORS preflight): what the element would
 * have had without a worker. Never with the token, and always on the homeserver at `base`.
 */
function withoutToken(ctx: MediaHandlerContext, base: string, target: HomeserverMediaRequest | LocalMediaRequest, request: Request, trace: RequestTrace): Promise<Response> {
  trace.upstreamUrl = unauthenticatedUrl(base, target, target.kind === 'homeserver' ? request.url : undefined);
  trace.outcome = 'unauthenticated';
  const url = trace.upstreamUrl;
  return resendOnNoResponse(() => fetchWithRetries(ctx, url, request, null, target.search)).then(markStandIn);
}

async function fetchMedia(ctx: MediaHandlerContext, event: MediaFetch, media: HomeserverMediaRequest | LocalMediaRequest, session: StoredSession): Promise<Response> {
  const base = session.homeserverUrl;
  event.trace.versionsCached = ctx.versions.isCached(base);
  // Only a legacy URL needs the answer; the others start the lookup for the ones to come.
  const lookup = ctx.versions.supportsAuthenticatedMedia(base);
  const supported = media.api === 'legacy' ? await lookup : undefined;
  // When /versions could not be read, try the authenticated endpoint: a server without it
  // answers 404 M_UNRECOGNIZED and the request falls back to the legacy one.
  const useAuthenticated = media.api !== 'legacy' || supported !== false;
  if (!useAuthenticated || session.accessToken === null) {
    if (media.kind === 'homeserver') {
      const url = withoutAccessToken(event.request.url);
      if (url === event.request.url) return passThrough(ctx, event);
      // The page wrote a token into the URL: it must not reach an unauthenticated endpoint.
      event.trace.upstreamUrl = url;
      event.trace.outcome = 'unauthenticated';
      return fetchWithRetries(ctx, url, event.request, null, media.search);
    }
    event.trace.upstreamUrl = legacyUrl(base, media);
    event.trace.outcome = 'unauthenticated';
    return fetchWithRetries(ctx, event.trace.upstreamUrl, event.request, null, media.search);
  }
  const withToken = { ...session, accessToken: session.accessToken };
  return fetchAuthenticated(ctx, base, media, withToken, event.request, event.clientId, event.trace);
}

/** The request goes out exactly as the page made it, as if there were no worker. */
function passThrough(ctx: MediaHandlerContext, event: MediaFetch): Promise<Response> {
  event.trace.upstreamUrl = event.request.url;
  event.trace.outcome = 'passed-through';
  return ctx.fetch(event.request);
}

/**
 * The worker's answer to a media request. Requests for a homeserver without a session in this
 * tab go to the network exactly as the page made them: the token only ever goes to the
 * homeserver it was registered for.
 */
export async function handleMediaRequest(ctx: MediaHandlerContext, event: MediaFetch): Promise<Response> {
  const { media, request } = event;
  if (media.kind === 'invalid-local') {
    event.trace.outcome = 'answered-by-worker';
    return jsonError(400, 'M_INVALID_PARAM', media.reason);
  }

  const navigation = request.mode !== 'navigate' ? undefined : request.destination === 'document' ? 'top-level' : 'nested';
  const session = await ctx.finder.find(media, { clientId: event.clientId, navigation });
  if (session === FORBIDDEN) {
    event.trace.outcome = 'answered-by-worker';
    return jsonError(403, 'M_FORBIDDEN', "This media link belongs to another tab's session; open it from that tab, or in a new tab.");
  }
  if (!session) {
    if (media.kind === 'homeserver') return passThrough(ctx, event);
    event.trace.outcome = 'answered-by-worker';
    return jsonError(401, 'M_MISSING_TOKEN', 'This media link belongs to a session that has signed out or never existed here; open it from the app again.');
  }
  // The session's tabs may hear of this request; other accounts' tabs never do.
  event.trace.audience = [...new Set([...event.trace.audience, ...session.clientIds])];

  // What this request may store, it may store only while the session is neither cleared nor signed out.
  const clears = clearsOf(ctx, session.id);
  const range = request.headers.get('Range');
  const waitUntil = event.waitUntil ?? (() => undefined);
  const fetchWithRange = (target: HomeserverMediaRequest | LocalMediaRequest) => (upstreamRange: string | null, method: 'GET' | 'HEAD' = 'GET') =>
    fetchMedia(ctx, { ...event, request: new Request(request.url, { method, headers: upstreamRange ? { Range: upstreamRange } : {} }) }, target, session);
  if (media.kind === 'encrypted') {
    const ciphertext = (serverName: string, mediaId: string): LocalMediaRequest =>
      ({ kind: 'local', api: 'v1', sessionId: session.id, endpoint: 'download', rest: `/${serverName}/${mediaId}`, search: '', fileName: undefined, attachment: false });
    const answer = await serveEncrypted(ctx, media, { session, clientId: event.clientId, clears }, range, event.trace, (serverName, mediaId) => fetchWithRange(ciphertext(serverName, mediaId)), waitUntil);
    return encryptedResponse(answer, media);
  }
  const key = session.accessToken === null ? undefined : storeKey(session, media);
  const stored = key === undefined ? undefined : await serveThroughStore(
    ctx,
    { key, sessionId: session.id, mediaName: `mxc://${media.rest.split('/').slice(1, 3).join('/')}`, clientId: event.clientId, clears, rangeHeader: range, mediaElement: request.destination === 'video' || request.destination === 'audio' },
    event.trace,
    fetchWithRange(media),
    waitUntil,
  );
  let response = stored ?? (await fetchMedia(ctx, event, media, session));
  if (!stored && range !== null) response = emulateRange(response, range);
  return media.kind === 'local' ? toLocalResponse(response, media) : response;
}
