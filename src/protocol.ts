/**
 * Everything that passes between the page and the worker, in one place.
 *
 * Both `src/` (DOM types) and `sw/` (WebWorker types) compile this file, so it uses only types the
 * two libs share. Every message is `{ type: 'mms/…' }`; a receiver ignores any other shape.
 * Replies travel on the MessagePort that came with the request, never on the global channel.
 */

import { checkEncryptedFile, type EncryptedFile } from './encryptedFile.js';
import { parseMimeType } from './mimeType.js';
import type { MediaSwErrorCode } from './MediaSwError.js';

/** The package version; the worker reports its own in every acknowledgement. */
export const PROTOCOL_VERSION = '0.1.0';

/** Path segment, under the worker's scope, of the same-origin URLs that `mediaUrl` builds. */
export const LOCAL_MEDIA_SEGMENT = 'matrix-media-sw';

/**
 * Query parameter of those URLs (`attachment=true`) that has the worker serve the file as an
 * attachment, whatever its type: following such a link saves the file. A download button needs
 * it because Chromium sends `<a download>` (and its own downloads) past every service worker.
 */
export const ATTACHMENT_PARAM = 'attachment';

/** What the page tells the worker about one signed-in account. */
export interface SessionInit {
  /** Opaque id chosen by the page; it names the session in `mediaUrl` URLs. Never the token. */
  id: string;
  /**
   * A random secret the page keeps in its tab's sessionStorage. Changing or signing out a
   * session takes its key, so another tab of the origin, which sees the id in URLs but not
   * this tab's storage, cannot take the session over.
   */
  key: string;
  /** The homeserver's base URL as the client uses it, possibly with a path prefix. */
  homeserverUrl: string;
  /** The access token, or null while the account is signed in nowhere. */
  accessToken: string | null;
}

// Page → worker. Each carries a MessagePort (event.ports[0]) for the reply.
export interface SessionMessage {
  type: 'mms/session';
  session: SessionInit;
  /**
   * True while `registerMediaWorker` has not yet returned a handle: the worker then keeps the
   * session in memory only, until `mms/confirm`. A page that fails or navigates away before
   * that leaves no token in the worker's storage, since no handle exists to sign it out.
   */
  provisional?: boolean;
  /** The most bytes of this session's media the worker's store may keep (`storeBytes`); absent: its default. */
  storeBytes?: number;
  /** The longest the store serves this session's files without asking the homeserver (`storeMaxAgeMs`); absent: the server's freshness alone. */
  storeMaxAgeMs?: number;
}
/** The page holds a handle for the session now: the worker may keep it in storage. */
export interface ConfirmMessage {
  type: 'mms/confirm';
  sessionId: string;
  key: string;
}
export interface SignOutMessage {
  type: 'mms/sign-out';
  sessionId: string;
  key: string;
}
export interface ClaimMessage {
  type: 'mms/claim';
}
/** Asks whether a worker speaks this protocol: another script may control the page. */
export interface PingMessage {
  type: 'mms/ping';
}
/**
 * Sent to a waiting worker of ours when the page's controller does not speak the protocol: an
 * app's Workbox worker that does not call skipWaiting would otherwise wait behind it for ever.
 */
export interface SkipWaitingMessage {
  type: 'mms/skip-waiting';
}
/** One attachment's key, as `encryptedMediaUrl` handed it out. */
export interface AttachmentKeyEntry {
  fileId: string;
  file: EncryptedFile;
  mimetype: string | null;
}
/**
 * The keys of encrypted attachments that `encryptedMediaUrl` made URLs for. They travel only
 * here, on the message channel: never in a URL. `key` is the session's key, as for sign-out.
 * The keys of one task go together: a timeline of hundreds of images is one message, where one
 * each cost both the page and the worker an event (and in Chromium a trip through the browser).
 */
export interface AttachmentKeysMessage {
  type: 'mms/keys';
  sessionId: string;
  key: string;
  files: AttachmentKeyEntry[];
}
/** Asks what the worker's store holds of the session (`storeUsage`); answered with a StoreUsageReply. */
export interface StoreUsageMessage {
  type: 'mms/store-usage';
  sessionId: string;
  key: string;
}
/** Deletes every stored byte of the session and keeps the session (`clearStore`). */
export interface ClearStoreMessage {
  type: 'mms/clear-store';
  sessionId: string;
  key: string;
}
/** Asks the worker to report (or stop reporting) what it does per request to this tab. */
export interface DiagnosticsMessage {
  type: 'mms/diagnostics';
  enabled: boolean;
}
export type PageToWorkerMessage =
  | SessionMessage
  | ConfirmMessage
  | SignOutMessage
  | ClaimMessage
  | PingMessage
  | SkipWaitingMessage
  | AttachmentKeysMessage
  | StoreUsageMessage
  | ClearStoreMessage
  | DiagnosticsMessage;

// Worker → page requests, each with a reply port.
/** Sent when a tab's request arrives before the worker has heard of that tab (e.g. after a restart without storage). */
export interface SessionRequestMessage {
  type: 'mms/session-request';
}
export interface RefreshRequestMessage {
  type: 'mms/refresh-request';
  sessionId: string;
}
/** Sent when a request names an encrypted file whose key this worker does not hold (it was restarted). */
export interface KeyRequestMessage {
  type: 'mms/key-request';
  sessionId: string;
  fileId: string;
}
/** What the worker did with one request; sent without a reply port to tabs that asked. */
export interface DiagnosticMessage {
  type: 'mms/diagnostic';
  entry: DiagnosticEntry;
}
/** How far a file the worker downloads whole has come; at most a few times a second, to tabs that asked. */
export interface ProgressMessage {
  type: 'mms/progress';
  progress: DownloadProgress;
}
export type WorkerToPageMessage = SessionRequestMessage | RefreshRequestMessage | KeyRequestMessage | DiagnosticMessage | ProgressMessage;

export interface DownloadProgress {
  /** The file, as `mxc://server/mediaId`. */
  media: string;
  /** Bytes downloaded and kept so far. */
  loaded: number;
  /** The file's size in bytes. */
  total: number;
}

/** One request as the worker handled it. URLs never carry a token. */
export interface DiagnosticEntry {
  /** The URL the page asked for, with any `access_token` parameter removed. */
  url: string;
  /** The URL the worker fetched, or null when it answered by itself. */
  upstreamUrl: string | null;
  /** How it was served. */
  outcome: 'authenticated' | 'unauthenticated' | 'passed-through' | 'answered-by-worker' | 'failed';
  /** The status the element got (0 for a network error). */
  status: number;
  /** Body bytes the element received; null while unknown (opaque responses). */
  bytes: number | null;
  /** From the fetch event to the end of the body, in milliseconds. */
  durationMs: number;
  /** Whether /versions came from the worker's cache. */
  versionsCached: boolean | null;
  /**
   * Where the bytes came from, for files the media store serves: from the store while fresh
   * (no request), from the store after the homeserver confirmed it still serves the file
   * (`store-rechecked`), from the store because the homeserver could not be asked
   * (`store-stale`), from the network, or both (a file stored in part). Null for media the
   * store does not handle.
   */
  source: 'store-fresh' | 'store-rechecked' | 'store-stale' | 'network' | 'both' | null;
  /** What went wrong, for failures: an error name and message, never a token. */
  error: string | null;
}

// Replies, in both directions.
export interface AckReply {
  type: 'mms/ack';
  /** The worker's PROTOCOL_VERSION, so a page can notice a stale worker left by an old deploy. */
  version: string;
}
/** Every session the asked page holds; an empty list means "none". */
export interface SessionReply {
  type: 'mms/session-reply';
  sessions: SessionInit[];
}
export interface RefreshReply {
  type: 'mms/refresh-reply';
  accessToken: string | null;
}
/**
 * What the store holds of one session: files with stored bytes, those bytes, and the session's
 * limit in force (lowered where the disk had less room); and what the worker holds of the
 * session's files in memory now (files held for their view, encrypted files being checked),
 * within the worker's one bound for every session.
 */
export interface StoreUsage {
  files: number;
  bytes: number;
  limitBytes: number;
  memoryBytes: number;
}
export interface StoreUsageReply {
  type: 'mms/store-usage-reply';
  usage: StoreUsage;
}
/** The page's answer to a key request: the file and its type, or null when it does not have it. */
export interface KeyReply {
  type: 'mms/key-reply';
  file: EncryptedFile | null;
  mimetype: string | null;
}
export interface ErrorReply {
  type: 'mms/error';
  code: MediaSwErrorCode;
  message: string;
}
export type Reply = AckReply | SessionReply | RefreshReply | KeyReply | StoreUsageReply | ErrorReply;


function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

const isWholeNumber = (value: unknown): value is number => typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;

function isSessionInit(value: unknown): value is SessionInit {
  return (
    isRecord(value) &&
    typeof value.id === 'string' &&
    value.id.length > 0 &&
    value.id.length <= 128 &&
    typeof value.key === 'string' &&
    value.key.length >= 16 &&
    value.key.length <= 128 &&
    typeof value.homeserverUrl === 'string' &&
    (value.accessToken === null || (typeof value.accessToken === 'string' && value.accessToken.length > 0))
  );
}

/** Null, or exactly one MIME type: the worker serves plaintext as it, so it checks what a page sends. */
const isMimetype = (value: unknown): value is string | null => value === null || (typeof value === 'string' && parseMimeType(value) !== undefined);

function asAttachmentKeyEntry(entry: unknown): AttachmentKeyEntry | undefined {
  if (!isRecord(entry) || typeof entry.fileId !== 'string') return undefined;
  if (!isMimetype(entry.mimetype)) return undefined;
  try {
    return { fileId: entry.fileId, file: checkEncryptedFile(entry.file), mimetype: entry.mimetype };
  } catch {
    return undefined;
  }
}

/** Narrows untrusted `MessageEvent.data` to a page message, or undefined for anything else. */
export function asPageToWorkerMessage(data: unknown): PageToWorkerMessage | undefined {
  if (!isRecord(data)) return undefined;
  switch (data.type) {
    case 'mms/session': {
      if (!isSessionInit(data.session)) return undefined;
      const message: SessionMessage = { type: data.type, session: data.session };
      if (data.provisional === true) message.provisional = true;
      if (isWholeNumber(data.storeBytes)) message.storeBytes = data.storeBytes;
      if (isWholeNumber(data.storeMaxAgeMs)) message.storeMaxAgeMs = data.storeMaxAgeMs;
      return message;
    }
    case 'mms/confirm':
    case 'mms/sign-out':
    case 'mms/store-usage':
    case 'mms/clear-store':
      return typeof data.sessionId === 'string' && typeof data.key === 'string'
        ? { type: data.type, sessionId: data.sessionId, key: data.key }
        : undefined;
    case 'mms/keys': {
      if (typeof data.sessionId !== 'string' || typeof data.key !== 'string' || !Array.isArray(data.files)) return undefined;
      // One malformed entry costs only itself: the page checked each, so it is not ours anyway.
      const files = data.files.flatMap((entry: unknown) => {
        const checked = asAttachmentKeyEntry(entry);
        return checked ? [checked] : [];
      });
      return { type: data.type, sessionId: data.sessionId, key: data.key, files };
    }
    case 'mms/claim':
    case 'mms/ping':
    case 'mms/skip-waiting':
      return { type: data.type };
    case 'mms/diagnostics':
      return typeof data.enabled === 'boolean' ? { type: data.type, enabled: data.enabled } : undefined;
    default:
      return undefined;
  }
}

function isDiagnosticEntry(value: unknown): value is DiagnosticEntry {
  return isRecord(value) && typeof value.url === 'string' && typeof value.status === 'number' && typeof value.outcome === 'string';
}

/** Narrows untrusted data to a worker request, or undefined. */
export function asWorkerToPageMessage(data: unknown): WorkerToPageMessage | undefined {
  if (!isRecord(data)) return undefined;
  switch (data.type) {
    case 'mms/session-request':
      return { type: data.type };
    case 'mms/refresh-request':
      return typeof data.sessionId === 'string' ? { type: data.type, sessionId: data.sessionId } : undefined;
    case 'mms/key-request':
      return typeof data.sessionId === 'string' && typeof data.fileId === 'string' ? { type: data.type, sessionId: data.sessionId, fileId: data.fileId } : undefined;
    case 'mms/diagnostic':
      return isDiagnosticEntry(data.entry) ? { type: data.type, entry: data.entry } : undefined;
    case 'mms/progress': {
      const p = data.progress as Partial<DownloadProgress> | undefined;
      return isRecord(p) && typeof p.media === 'string' && typeof p.loaded === 'number' && typeof p.total === 'number'
        ? { type: data.type, progress: { media: p.media, loaded: p.loaded, total: p.total } }
        : undefined;
    }
    default:
      return undefined;
  }
}

/** Narrows untrusted data to a reply, or undefined. */
export function asReply(data: unknown): Reply | undefined {
  if (!isRecord(data)) return undefined;
  switch (data.type) {
    case 'mms/ack':
      return typeof data.version === 'string' ? { type: data.type, version: data.version } : undefined;
    case 'mms/session-reply':
      return Array.isArray(data.sessions) && data.sessions.every(isSessionInit)
        ? { type: data.type, sessions: data.sessions }
        : undefined;
    case 'mms/key-reply': {
      if (!isMimetype(data.mimetype)) return undefined;
      if (data.file === null) return { type: data.type, file: null, mimetype: null };
      try {
        return { type: data.type, file: checkEncryptedFile(data.file), mimetype: data.mimetype };
      } catch {
        return undefined;
      }
    }
    case 'mms/store-usage-reply': {
      const usage = data.usage as Partial<StoreUsage> | undefined;
      return isRecord(usage) && isWholeNumber(usage.files) && isWholeNumber(usage.bytes) && isWholeNumber(usage.limitBytes) && isWholeNumber(usage.memoryBytes)
        ? { type: data.type, usage: { files: usage.files, bytes: usage.bytes, limitBytes: usage.limitBytes, memoryBytes: usage.memoryBytes } }
        : undefined;
    }
    case 'mms/refresh-reply':
      return data.accessToken === null || typeof data.accessToken === 'string'
        ? { type: data.type, accessToken: data.accessToken }
        : undefined;
    case 'mms/error':
      return typeof data.code === 'string' && typeof data.message === 'string'
        ? { type: data.type, code: data.code as MediaSwErrorCode, message: data.message }
        : undefined;
    default:
      return undefined;
  }
}
