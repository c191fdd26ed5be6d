/**
 * Everything that passes between the page and the worker, in one place.
 *
 * Both `src/` (DOM types) and `sw/` (WebWorker types) compile this file, so it uses only types the
 * two libs share. Every message is `{ type: 'mms/…' }`; a receiver ignores any other shape.
 * Replies travel on the MessagePort that came with the request, never on the global channel.
 */

/** The package version; the worker reports its own in every acknowledgement. */
export const PROTOCOL_VERSION = '0.1.0';

/** Path segment, under the worker's scope, of the same-origin URLs that `mediaUrl` builds. */
export const LOCAL_MEDIA_SEGMENT = 'matrix-media-sw';

/** What the page tells the worker about one signed-in account. */
export interface SessionInit {
  /** Opaque id chosen by the page; it names the session in `mediaUrl` URLs. Never the token. */
  id: string;
  /** The homeserver's base URL as the client uses it, possibly with a path prefix. */
  homeserverUrl: string;
  /** The access token, or null while the account is signed in nowhere. */
  accessToken: string | null;
}

// Page → worker. Each carries a MessagePort (event.ports[0]) for the reply.
export interface SessionMessage {
  type: 'mms/session';
  session: SessionInit;
}
export interface SignOutMessage {
  type: 'mms/sign-out';
  sessionId: string;
}
export interface ClaimMessage {
  type: 'mms/claim';
}
export type PageToWorkerMessage = SessionMessage | SignOutMessage | ClaimMessage;

// Worker → page requests, each with a reply port.
/** Sent when a tab's request arrives before the worker has heard of that tab (e.g. after a restart without storage). */
export interface SessionRequestMessage {
  type: 'mms/session-request';
}
export interface RefreshRequestMessage {
  type: 'mms/refresh-request';
  sessionId: string;
}
export type WorkerToPageMessage = SessionRequestMessage | RefreshRequestMessage;

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
export interface ErrorReply {
  type: 'mms/error';
  code: MediaSwErrorCode;
  message: string;
}
export type Reply = AckReply | SessionReply | RefreshReply | ErrorReply;

/** Stable codes of `MediaSwError`; tests and callers branch on these, never on the prose. */
export type MediaSwErrorCode =
  | 'insecure-context'
  | 'unsupported'
  | 'registration-failed'
  | 'not-controlled'
  | 'no-acknowledgement'
  | 'invalid-options'
  | 'invalid-mxc'
  | 'signed-out'
  | 'bad-message';

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function isSessionInit(value: unknown): value is SessionInit {
  return (
    isRecord(value) &&
    typeof value.id === 'string' &&
    value.id.length > 0 &&
    value.id.length <= 128 &&
    typeof value.homeserverUrl === 'string' &&
    (value.accessToken === null || (typeof value.accessToken === 'string' && value.accessToken.length > 0))
  );
}

/** Narrows untrusted `MessageEvent.data` to a page message, or undefined for anything else. */
export function asPageToWorkerMessage(data: unknown): PageToWorkerMessage | undefined {
  if (!isRecord(data)) return undefined;
  switch (data.type) {
    case 'mms/session':
      return isSessionInit(data.session) ? { type: data.type, session: data.session } : undefined;
    case 'mms/sign-out':
      return typeof data.sessionId === 'string' ? { type: data.type, sessionId: data.sessionId } : undefined;
    case 'mms/claim':
      return { type: data.type };
    default:
      return undefined;
  }
}

/** Narrows untrusted data to a worker request, or undefined. */
export function asWorkerToPageMessage(data: unknown): WorkerToPageMessage | undefined {
  if (!isRecord(data)) return undefined;
  switch (data.type) {
    case 'mms/session-request':
      return { type: data.type };
    case 'mms/refresh-request':
      return typeof data.sessionId === 'string' ? { type: data.type, sessionId: data.sessionId } : undefined;
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
