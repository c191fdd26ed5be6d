import { parseMxc } from '../src/mxc.js';
import type { EncryptedMediaRequest } from './classifyMediaUrl.js';
import { decryptAt, decryptStream } from './decryptRange.js';
import type { RequestTrace } from './diagnostics.js';
import { localHeaders, toLocalResponse } from './localResponse.js';
import type { AttachmentKey, EncryptionKeys } from './encryptionKeys.js';
import { parseRangeHeader } from './rangeResponse.js';
import { networkFallback, openDownload, type FetchUpstream, type StoreContext } from './serveThroughStore.js';
import type { StoredSession } from './sessionStore.js';
import type { SharedDownload } from './sharedDownload.js';
import { checkDownload, hasDigest, type CheckedFile } from './verifyHash.js';

/**
 * How an encrypted attachment is served: its ciphertext comes through the media store (one
 * download per file, kept on disk; the plaintext is never stored), its SHA-256 must match
 * `hashes.sha256` before any byte of plaintext leaves the worker, and a range decrypts only the
 * blocks it covers, so a video seeks with nothing more sent over the network.
 */

export interface EncryptedContext extends StoreContext {
  keys: EncryptionKeys;
  /** Checks under way or done, by store key and hash: many requests, one check. */
  verified: Map<string, Promise<CheckedFile>>;
}

function jsonError(status: number, errcode: string, error: string): Response {
  return new Response(JSON.stringify({ errcode, error }), {
    status,
    headers: { 'Content-Type': 'application/json', 'X-Content-Type-Options': 'nosniff' },
  });
}

// Without a store, a file is checked whole in memory: images and documents fit, long videos do not.
const MEMORY_CHECK_BYTES = 32 * 1024 * 1024;
// Up to this size the bytes that were hashed are decrypted too: a chunk, or less.
const KEEP_CHECKED_BYTES = 1024 * 1024;

const HASH_MISMATCH = () =>
  jsonError(502, 'MMS_HASH_MISMATCH', 'The encrypted file does not match its SHA-256 hash (hashes.sha256): nothing of it was decrypted, and its stored bytes were dropped.');

/** The plaintext of bytes `start` to `end` (inclusive): a stream, or bytes at once. */
type Plaintext = (start: number, end: number) => Promise<BodyInit>;

/** Plaintext decrypted as the ciphertext streams in (from the store, or as it arrives). */
const streamed = (attachment: AttachmentKey, key: CryptoKey, ciphertext: (start: number, end: number) => ReadableStream<Uint8Array>): Plaintext =>
  async (start, end) => ciphertext(start, end).pipeThrough(decryptStream(key, attachment.iv, start));

/**
 * Plaintext of ciphertext held in memory (a small file, as checked): one WebCrypto call for the
 * blocks asked for, and the bytes as the body. Streaming a Blob of it through a TransformStream
 * cost several times more of the worker's time, which a gallery of hundreds of images pays.
 */
const inMemory = (attachment: AttachmentKey, key: CryptoKey, ciphertext: Uint8Array): Plaintext =>
  async (start, end) => (await decryptAt(key, attachment.iv, start, ciphertext.subarray(start, end + 1))) as Uint8Array<ArrayBuffer>;

/** What the worker answers with plaintext; the app-origin headers go on once, in encryptedResponse. */
export interface PlaintextAnswer {
  status: 200 | 206 | 416;
  headers: Headers;
  body: BodyInit | null;
}

const STATUS_TEXT = { 200: 'OK', 206: 'Partial Content', 416: 'Range Not Satisfiable' } as const;

/** Plaintext bytes `rangeHeader` asks for (or all): 200, 206 with its Content-Range, or 416. */
async function decrypted(attachment: AttachmentKey, size: number, rangeHeader: string | null, plaintext: Plaintext): Promise<PlaintextAnswer> {
  const range = rangeHeader === null ? undefined : parseRangeHeader(rangeHeader, size);
  const headers = new Headers({ 'Accept-Ranges': 'bytes', 'Content-Type': attachment.mimetype ?? 'application/octet-stream' });
  if (range === 'unsatisfiable') {
    headers.set('Content-Range', `bytes */${size}`);
    return { status: 416, headers, body: null };
  }
  const { start, end } = range ?? { start: 0, end: size - 1 };
  headers.set('Content-Length', String(end - start + 1));
  const body = size === 0 ? null : await plaintext(start, end);
  if (!range) return { status: 200, headers, body };
  headers.set('Content-Range', `bytes ${start}-${end}/${size}`);
  return { status: 206, headers, body };
}

/** The response for what serveEncrypted answered, on the app's origin (its safety headers on). */
export function encryptedResponse(answer: Response | PlaintextAnswer, media: EncryptedMediaRequest): Response {
  if (answer instanceof Response) return toLocalResponse(answer, media);
  // Plaintext goes out as it is: wrapping a Response round it again would turn bytes into a stream.
  const { status, headers, body } = answer;
  return new Response(body, { status, statusText: STATUS_TEXT[status], headers: localHeaders(headers, status !== 416, media) });
}

/**
 * The worker's answer to a request for an encrypted attachment: its plaintext (or a range of
 * it), or an error whose body says what went wrong.
 */
export async function serveEncrypted(
  ctx: EncryptedContext,
  media: EncryptedMediaRequest,
  session: StoredSession,
  rangeHeader: string | null,
  trace: RequestTrace,
  fetchFile: (serverName: string, mediaId: string) => FetchUpstream,
  waitUntil: (promise: Promise<unknown>) => void,
): Promise<Response | PlaintextAnswer> {
  const attachment = await ctx.keys.find(session, media.fileId);
  if (!attachment) {
    trace.outcome = 'answered-by-worker';
    return jsonError(404, 'MMS_UNKNOWN_KEY', "This encrypted media's key is not known here (the browser restarted the worker, or the link came from elsewhere): open it from the app again.");
  }
  const { serverName, mediaId } = parseMxc(attachment.file.url)!;
  const fetchCiphertext = fetchFile(serverName, mediaId);
  const key = `${session.id} ${session.homeserverUrl} ${serverName}/${mediaId}`;
  const opened = await openDownload(ctx, { file: { key, sessionId: session.id, mediaName: attachment.file.url }, firstRange: null, fetchUpstream: fetchCiphertext, waitUntil });
  const cryptoKey = await attachment.key;

  if ('response' in opened) {
    // The store cannot keep it (no store here, as in a private window, or over storeBytes). A
    // second download could differ from the one hashed, so the file is checked in memory, up to
    // a bound, and served from there.
    trace.source = 'network';
    const response = opened.response;
    if (!response.ok || !response.body) return response;
    const size = Number(response.headers.get('Content-Length') ?? NaN);
    if (!(size <= MEMORY_CHECK_BYTES)) {
      void response.body.cancel();
      trace.outcome = 'failed';
      return jsonError(507, 'MMS_TOO_LARGE_TO_CHECK', `This encrypted file cannot be stored here (${ctx.store.unavailable ? 'the browser offers no storage' : 'it is larger than storeBytes'}), and is too large to check in memory: raise storeBytes, or load it with loadMedia in blob mode.`);
    }
    const ciphertext = new Uint8Array(await response.arrayBuffer());
    if (!(await hasDigest(ciphertext, attachment.sha256))) return HASH_MISMATCH();
    return decrypted(attachment, ciphertext.byteLength, rangeHeader, inMemory(attachment, cryptoKey, ciphertext));
  }

  trace.source = opened.source;
  const download: SharedDownload = opened.download;
  const check = `${key} ${attachment.file.hashes.sha256}`;
  let verified = ctx.verified.get(check);
  if (!verified) {
    const started = checkDownload(download, attachment.sha256, networkFallback(fetchCiphertext), KEEP_CHECKED_BYTES);
    verified = started;
    ctx.verified.set(check, started);
    started.then(
      // Requests under way get the checked bytes; later ones only the verdict, and read the store.
      ({ matches }) => ctx.verified.get(check) === started && ctx.verified.set(check, Promise.resolve({ matches })),
      // A check that could not finish (the download failed) is not a result: the next request tries again.
      () => ctx.verified.get(check) === started && ctx.verified.delete(check),
    );
  }
  let checked: CheckedFile;
  try {
    checked = await verified;
  } catch (error) {
    trace.outcome = 'failed';
    const reason = error instanceof Error ? `${error.name}: ${error.message}` : 'unknown error';
    return jsonError(502, 'MMS_DOWNLOAD_FAILED', `The encrypted file could not be downloaded whole to check its hash (${reason}); nothing of it was decrypted. Try again.`);
  }
  if (!checked.matches) {
    ctx.verified.delete(check);
    download.stop();
    await download.finished;
    await ctx.store.delete(key).catch(() => undefined);
    trace.outcome = 'failed';
    return HASH_MISMATCH();
  }
  const plaintext = checked.bytes
    ? inMemory(attachment, cryptoKey, checked.bytes)
    : streamed(attachment, cryptoKey, (start, end) => download.read(start, end, networkFallback(fetchCiphertext)));
  return decrypted(attachment, download.size, rangeHeader, plaintext);
}
