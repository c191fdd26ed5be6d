import type { HomeserverMediaRequest, LocalMediaRequest } from '../routing/classifyMediaUrl.js';
import type { DiagnosticEntry } from '../../src/protocol.js';
import { checkedNow, keepRuleOf } from './freshness.js';
import { MEMORY_HELD_BYTES } from './heldInMemory.js';
import type { MediaStore } from './mediaStore.js';
import type { MemoryBudget } from './memoryBudget.js';
import { newGeneration, type StoredFile } from './storedFile.js';
import { whileBodyFlows } from '../upstream/keepAlive.js';
import { emulateRange } from '../upstream/rangeResponse.js';
import type { StoredSession } from '../session/sessionStore.js';
import type { Fallback } from './rangeReader.js';
import { contentRangeStart, networkFallback, respond, sliceOf, type FetchUpstream } from './answer.js';
import { SharedDownload, type Progress } from './sharedDownload.js';
import { mayRead, viewedBy } from './views.js';
import { saysRemoved } from './recheck.js';
import { useStored, type StoredSource, type UseStoredContext } from './useStored.js';

/**
 * Which requests the media store serves, and how. A download (not a thumbnail) joins the
 * store when a media element asks for it (WebKit sends no Range, so the request's destination
 * says so), when anything asks for a range (a video seeking), or when its file is already being
 * downloaded or stored; images stay with the browser's HTTP cache. The first
 * ranged request goes upstream with the element's Range: a server that honours it answers 206,
 * passed on as before; one that ignores it answers 200 with the whole file, which becomes the
 * one shared download that every later range of that file reads from.
 *
 * What is kept, and for how long, the server decides (freshness.ts): a `no-store` file's download
 * keeps its bytes in memory, for the requests that read it while it runs, and lets them go with
 * it; a stored file past its freshness is asked about first (useStored.ts).
 */

export interface StoreContext {
  store: MediaStore;
  /** The running download of each file, by store key. */
  downloads: Map<string, SharedDownload>;
  /** Files being opened (the store read, the upstream request under way), by store key. */
  opening: Map<string, Promise<Opened>>;
  /** How long an upstream body may send nothing before its download fails (tests shorten it). */
  bodyIdleMs?: number;
  /** How long a download nobody reads goes on, and a file held in memory stays (LINGER_MS; tests shorten it). */
  lingerMs?: number;
  /** How long a recheck may take before stored bytes are served anyway (tests shorten it). */
  recheckTimeoutMs?: number;
  /** Stale files asked about lately, by store key (see useStored). */
  asked: UseStoredContext['asked'];
  /** Reports a download's progress to the session's pages that asked for diagnostics. */
  progress?: (file: FileRequest, progress: Progress) => void;
  /** The worker's one bound on memory for files (memoryBudget.ts); absent in tests that need none. */
  memory?: MemoryBudget;
  /**
   * How many times each session's stored media was cleared or signed out (sessionMedia.ts). A
   * request that began before one stores nothing: its upstream answer may come after the clear.
   */
  clears?: Map<string, number>;
}

/** The session's clear count now: what a request records when it begins. */
export const clearsOf = (ctx: Pick<StoreContext, 'clears'>, sessionId: string): number => ctx.clears?.get(sessionId) ?? 0;

// Headers worth answering with again from the store. The server's Content-Security-Policy is
// readable where the homeserver shares the app's origin, which is where it matters most.
const KEPT_HEADERS = ['Content-Type', 'Content-Disposition', 'Last-Modified', 'ETag', 'Cache-Control', 'Content-Security-Policy'];

/** The store key: session, homeserver and media ID. Another session never finds it. */
export function storeKey(session: StoredSession, media: HomeserverMediaRequest | LocalMediaRequest): string | undefined {
  if (media.endpoint !== 'download') return undefined;
  const [, serverName, mediaId] = media.rest.split('/');
  if (!serverName || !mediaId) return undefined;
  return `${session.id} ${session.homeserverUrl} ${serverName}/${mediaId}`;
}

/**
 * Bytes a download will not bring. When its connection broke (a reset, a cut, a silent body), a
 * new shared download carries on: it skips what is stored and keeps the rest, so the file is
 * stored whole at the end of the view and readers that fall back together share one request.
 * A download that was stopped (sign-out, nobody reading) or whose store failed is not resumed.
 */
function resumeOrNetwork(ctx: StoreContext, open: OpenRequest, download: SharedDownload): Fallback {
  const network = networkFallback(open.fetchUpstream, ctx.bodyIdleMs);
  return async (from, to) => {
    if (download.failure === undefined) return network(from, to);
    const again = await openDownload(ctx, { ...open, firstRange: `bytes=${from}-` });
    if ('download' in again) return again.download === download ? network(from, to) : again.download.read(from, to, network);
    if (again.continued) {
      // The store could not take the rest: what the element asked for, from the network.
      void again.response.body?.cancel();
      return network(from, to);
    }
    return sliceOf(again.response, from, to, ctx.bodyIdleMs);
  };
}

/** What the store can do for a file: read it through a shared download, or not keep it at all. */
export type Opened =
  | { download: SharedDownload; source: StoredSource | 'network' | 'both' }
  /** An upstream response the store could not keep (too large, no length, an error, no store, a 206 of the server's own). */
  | { response: Response; continued: boolean };

export interface FileRequest {
  key: string;
  sessionId: string;
  /** `mxc://server/mediaId`, for progress reports. */
  mediaName: string;
  /** The page asking (the fetch event's clientId): what is held in memory for a view serves that view's page. */
  clientId?: string;
  /** `clearsOf` the session when the request began; undefined: now. */
  clears?: number;
}

/** What opening a file's download needs besides the context. */
export interface OpenRequest {
  file: FileRequest;
  /** The range to ask a new file for (the element's), or null. */
  firstRange: string | null;
  fetchUpstream: FetchUpstream;
  /** Keeps the worker alive while the download runs. */
  waitUntil: (promise: Promise<unknown>) => void;
}

/**
 * The shared download of a file: the running one, one over the bytes stored whole, or a new
 * one. A new file is asked for with `firstRange` (the element's, so that a server that honours
 * Range answers just that); a file stored in part, for the rest of it.
 */
export async function openDownload(ctx: StoreContext, open: OpenRequest): Promise<Opened> {
  const { key, clientId } = open.file;
  const joining = (download: SharedDownload): Opened => {
    viewedBy(download, clientId);
    return { download, source: download.stored > 0 ? 'both' : 'network' };
  };
  const running = ctx.downloads.get(key);
  if (running && mayRead(running, clientId)) return joining(running);
  // Requests that arrive together (an image shown twice, ranges asked at once) share one
  // download: without this each would ask upstream before the first one's download existed.
  const opening = ctx.opening.get(key);
  if (opening) {
    const first = await opening.catch(() => undefined);
    if (first && 'download' in first && mayRead(first.download, clientId)) return joining(first.download);
    // The first could not be kept: this request asks for itself.
  }
  const started = openNew(ctx, open);
  ctx.opening.set(key, started);
  try {
    const opened = await started;
    if ('download' in opened) viewedBy(opened.download, clientId);
    return opened;
  } finally {
    if (ctx.opening.get(key) === started) ctx.opening.delete(key);
  }
}

async function openNew(ctx: StoreContext, open: OpenRequest): Promise<Opened> {
  const { file: request, firstRange, fetchUpstream, waitUntil } = open;
  const { key } = request;
  const began = request.clears ?? clearsOf(ctx, request.sessionId);
  // The session signed out or cleared its store while this request waited: nothing more of it is kept.
  const cleared = () => clearsOf(ctx, request.sessionId) !== began;
  const busy = () => new Set(ctx.downloads.keys());
  let file = await ctx.store.get(key);
  if (file && file.stored >= file.size) {
    const stored = await useStored(ctx, file, (method) => fetchUpstream(null, method));
    if (stored.use === 'serve') return { download: new SharedDownload({ store: ctx.store, file: stored.file, busy }), source: stored.source };
    if (stored.use === 'answer') return { response: stored.response, continued: false };
    // The server no longer lets it be kept: it comes from the network as a new file.
    file = undefined;
  }
  const from = file?.stored ?? 0;
  const response = await fetchUpstream(file ? `bytes=${from}-` : firstRange);
  const rule = keepRuleOf(response.headers);
  if (file && (saysRemoved(response) || ((response.status === 200 || response.status === 206) && !rule.store))) {
    // The rest of a stored part was asked for: a server that refuses it, or forbids keeping it, ends the part.
    await ctx.store.deleteCopy(key, file.generation);
    return { response, continued: false };
  }
  const offset = response.status === 206 && file ? contentRangeStart(response) : response.status === 200 ? 0 : undefined;
  const length = Number(response.headers.get('Content-Length') ?? NaN);
  const size = file ? file.size : response.status === 200 ? length : undefined;
  const whole = response.body !== null && offset !== undefined && offset <= from && (response.status !== 200 || length === size) && size !== undefined && Number.isFinite(size) && size > 0;
  if (!whole) return { response, continued: file !== undefined };
  // What the store does not take (no-store, no store, past its limit) is held in memory for the
  // view, within a bound: the element's seeks read the one download.
  const stored = rule.store && (await ctx.store.ready()) && (await ctx.store.fits(request.sessionId, size));
  if (cleared()) return { response, continued: file !== undefined };
  // Held in memory only within the file's bound and the worker's: past either, it streams through.
  const heldBytes = stored ? 0 : size - from;
  if (!stored && (heldBytes > MEMORY_HELD_BYTES || !(ctx.memory?.take(heldBytes, request.sessionId) ?? true))) return { response, continued: file !== undefined };
  const headers: Record<string, string> = file?.headers ?? {};
  if (!file) for (const name of KEPT_HEADERS) {
    const value = response.headers.get(name);
    if (value !== null) headers[name] = value;
  }
  const checked = checkedNow(rule);
  if (file) ctx.store.renew(key, file.generation, checked);
  const record: StoredFile = { ...(file ?? { key, sessionId: request.sessionId, size, stored: 0, headers, lastUsed: Date.now(), generation: newGeneration() }), ...checked };
  const download: SharedDownload = new SharedDownload({
    store: ctx.store,
    inMemory: !stored,
    memory: ctx.memory,
    heldBytes,
    file: record,
    busy,
    idleMs: ctx.bodyIdleMs,
    lingerMs: ctx.lingerMs,
    onProgress: (progress) => ctx.progress?.(request, progress),
    onEnd: () => {
      if (ctx.downloads.get(key) === download) ctx.downloads.delete(key);
      // A download the store's limit was lowered under (no room left on the disk) keeps its bytes until it ends.
      void ctx.store.fit(request.sessionId, busy()).catch(() => undefined);
    },
  });
  ctx.downloads.set(key, download);
  download.start(response.body!, offset!);
  try {
    waitUntil(download.finished);
  } catch (error) {
    // A download resumed for a reader whose fetch event has ended (its first download broke and
    // settled) can no longer extend that event: waitUntil throws InvalidStateError. Throwing here
    // failed the reader's stream before its first byte (Chromium's <video>: error 4); the
    // download runs on while the worker does, and a stopped one is resumed from what it stored.
    if (!(error instanceof DOMException && error.name === 'InvalidStateError')) throw error;
  }
  return { download, source: from > 0 ? 'both' : 'network' };
}

/**
 * The store's answer to a request, or undefined when the store has nothing to do with it (the
 * caller then fetches as usual). `waitUntil` keeps the worker alive while a download runs.
 */
export async function serveThroughStore(
  ctx: StoreContext,
  request: FileRequest & { rangeHeader: string | null; mediaElement: boolean },
  /** The request's diagnostics: where its bytes came from. */
  trace: Pick<DiagnosticEntry, 'source'>,
  fetchUpstream: FetchUpstream,
  waitUntil: (promise: Promise<unknown>) => void,
): Promise<Response | undefined> {
  const { key, rangeHeader } = request;
  const wanted = rangeHeader !== null || request.mediaElement;
  // Images: only look in the store when its index is already in memory, never wait for it.
  if (!wanted && !ctx.downloads.has(key) && !ctx.store.peek(key)) return undefined;
  const open: OpenRequest = { file: request, firstRange: rangeHeader, fetchUpstream, waitUntil };
  const opened = await openDownload(ctx, open);
  if ('download' in opened) {
    trace.source = opened.source;
    return respond(opened.download, opened.download.headers, rangeHeader, resumeOrNetwork(ctx, open, opened.download));
  }
  trace.source = 'network';
  let response = opened.response;
  if (opened.continued) {
    // The rest of a stored file could not be had: ask for what the element asked for.
    void response.body?.cancel();
    response = await fetchUpstream(rangeHeader);
  }
  // A server that honours Range answered the element's range itself; anything else that cannot
  // be stored goes on as before. A slice the worker cuts itself keeps the worker alive while it
  // flows; a body passed on as the server sent it is left to the browser's own pipe (wrapping
  // it cost the benchmark's Range-honouring video 10 % more bytes and slower seeks).
  const answer = rangeHeader === null ? response : emulateRange(response, rangeHeader);
  return answer === response ? answer : whileBodyFlows(answer, waitUntil);
}
