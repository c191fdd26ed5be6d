import { parseMxc } from '../../src/mxc.js';
import type { DiagnosticEntry } from '../../src/protocol.js';
import type { EncryptedMediaRequest } from '../routing/classifyMediaUrl.js';
import { decryptAt, decryptStream } from './decryptRange.js';
import { keepRuleOf } from '../store/freshness.js';
import { localHeaders, toLocalResponse } from '../upstream/localResponse.js';
import type { AttachmentKey, EncryptionKeys } from './encryptionKeys.js';
import { parseRangeHeader } from '../upstream/rangeResponse.js';
import type { FetchUpstream } from '../store/answer.js';
import { openDownload, type StoreContext } from '../store/serveThroughStore.js';
import type { StoredSession } from '../session/sessionStore.js';
import type { Fallback } from '../store/rangeReader.js';
import type { SharedDownload } from '../store/sharedDownload.js';
import { readBodyWithin } from '../upstream/readBody.js';
import { checkDownload, checkStored, hasDigest, type CheckedFile } from './verifyHash.js';

/**
 * How an encrypted attachment is served: its ciphertext comes through the media store (one
 * download per file, kept on disk; the plaintext is never stored), its SHA-256 must match
 * `hashes.sha256` before any byte of plaintext leaves the worker, and a range decrypts only the
 * blocks it covers, so a video seeks with nothing more sent over the network.
 */

export interface EncryptedContext extends StoreContext {
  keys: EncryptionKeys;
  /**
   * Verdicts on copies of files stored whole, by store key, copy (generation) and hash: the
   * bytes of such a copy never change, so many requests share one check.
   */
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

// How long an encrypted file waits for room in the worker's memory bound before it is refused.
const MEMORY_WAIT_MS = 30_000;

const MEMORY_BUSY = () =>
  jsonError(503, 'MMS_MEMORY_BUSY', 'The worker already holds as much in memory as it may for other files being checked or shown; this encrypted file was not downloaded. Try again in a moment.');

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
 * Checks of downloads under way, by download: a verdict reached by reading one download covers
 * the bytes of that download alone, so only requests reading through that same download share it.
 */
const underWay = new WeakMap<SharedDownload, Promise<CheckedFile>>();

/**
 * Where neither the store nor the download being read has a byte, it is not fetched again:
 * another request could bring other bytes than the ones hashed (finding 1 of the security review).
 */
const UNVERIFIED: Fallback = async () => {
  throw new DOMException('The rest of the encrypted file is neither stored nor coming from the download that was checked; it is not fetched again unchecked.', 'NetworkError');
};

/** The id of a copy's verdict: a file deleted and stored again is another copy, to be checked again. */
const copyId = (download: SharedDownload, attachment: AttachmentKey) => `${download.key} ${download.generation ?? ''} ${attachment.file.hashes.sha256}`;

/**
 * Whether the bytes `download` reads have the attachment's hash. A copy stored whole is checked
 * once for every request; a download under way is checked by reading it, and its verdict stands
 * for later requests only once that same download has stored the whole file.
 */
function verdictFor(ctx: EncryptedContext, download: SharedDownload, attachment: AttachmentKey): Promise<CheckedFile> {
  const copy = copyId(download, attachment);
  const whole = !download.running && download.stored >= download.size;
  // A small file is read whole anyway to be decrypted in one call: hashing those very bytes
  // again (natively, off the worker's thread) costs no more than trusting an earlier verdict did.
  if (whole && download.size <= KEEP_CHECKED_BYTES) return checkStored(download, attachment.sha256, UNVERIFIED, KEEP_CHECKED_BYTES);
  const known = whole ? ctx.verified.get(copy) : underWay.get(download);
  if (known) return known;
  const check = checkDownload(download, attachment.sha256, UNVERIFIED, KEEP_CHECKED_BYTES);
  if (whole) ctx.verified.set(copy, check);
  else underWay.set(download, check);
  check.then(
    async ({ matches }) => {
      if (!matches) return;
      await download.finished;
      if (download.stored >= download.size && (whole ? ctx.verified.get(copy) === check : true)) ctx.verified.set(copy, Promise.resolve({ matches }));
    },
    // A check that could not finish is not a result: the next request checks again.
    () => whole && ctx.verified.get(copy) === check && ctx.verified.delete(copy),
  );
  return check;
}

/**
 * A file the store cannot keep (no store, over storeBytes, or sent without a Content-Length):
 * read whole into memory, up to a bound, hashed, and decrypted from those very bytes.
 */
async function checkedInMemory(ctx: EncryptedContext, response: Response, attachment: AttachmentKey, keep: (bytes: Uint8Array<ArrayBuffer>) => void): Promise<Response | Uint8Array<ArrayBuffer>> {
  if (!response.ok || !response.body) return response;
  const length = response.headers.get('Content-Length');
  const storable = keepRuleOf(response.headers).store;
  const [why, remedy] = !storable
    ? ['the homeserver forbids storing it: Cache-Control: no-store', 'serve it without no-store']
    : ctx.store.unavailable
      ? ['the browser offers no storage', 'use a browser profile with storage']
      : length === null
        ? ['the homeserver sent it without a Content-Length', 'serve it with a Content-Length']
        : ['it is larger than storeBytes', 'raise storeBytes'];
  const tooLarge = () =>
    jsonError(507, 'MMS_TOO_LARGE_TO_CHECK', `This encrypted file cannot be stored here (${why}), and is larger than the ${MEMORY_CHECK_BYTES / 1024 / 1024} MiB the worker checks in memory: ${remedy}, or load it with loadMedia in blob mode.`);
  if (length !== null && !(Number(length) <= MEMORY_CHECK_BYTES)) {
    void response.body.cancel();
    return tooLarge();
  }
  const ciphertext = await readBodyWithin(response.body, MEMORY_CHECK_BYTES, ctx.bodyIdleMs);
  if (!ciphertext) return tooLarge();
  if (!(await hasDigest(ciphertext, attachment.sha256))) return HASH_MISMATCH();
  // Sent without a length, it could still be stored now that it is known whole (and checked
  // again when read from there, as every stored copy is).
  if (length === null && storable) keep(ciphertext);
  return ciphertext;
}

const DOWNLOAD_FAILED = (error: unknown) => {
  const reason = error instanceof Error ? `${error.name}: ${error.message}` : 'unknown error';
  return jsonError(502, 'MMS_DOWNLOAD_FAILED', `The encrypted file could not be downloaded whole to check its hash (${reason}); nothing of it was decrypted. Try again.`);
};

// A download that breaks is started again once, from what is stored, before the element is told.
const CHECK_ATTEMPTS = 2;

/**
 * The worker's answer to a request for an encrypted attachment: its plaintext (or a range of
 * it), or an error whose body says what went wrong. Plaintext is only ever decrypted from the
 * bytes that were hashed and found matching: the same download's, or the same stored copy's.
 */
export async function serveEncrypted(
  ctx: EncryptedContext,
  media: EncryptedMediaRequest,
  /** Whose request, from which page (what is held in memory for a view serves that page). */
  { session, clientId, clears }: { session: StoredSession; clientId: string; clears?: number },
  rangeHeader: string | null,
  /** The request's diagnostics: how it was served, and where its bytes came from. */
  trace: Pick<DiagnosticEntry, 'source' | 'outcome'>,
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
  const file = { key: `${session.id} ${session.homeserverUrl} ${serverName}/${mediaId}`, sessionId: session.id, mediaName: attachment.file.url, clientId, clears };
  const cryptoKey = await attachment.key;

  for (let attempt = 1; ; attempt++) {
    const opened = await openDownload(ctx, { file, firstRange: null, fetchUpstream: fetchCiphertext, waitUntil });
    if ('response' in opened) {
      trace.source = 'network';
      // A stored part whose rest could not be had: the whole file, in memory, instead.
      let response = opened.response;
      if (opened.continued) {
        void response.body?.cancel();
        response = await fetchCiphertext(null);
      }
      const keep = (bytes: Uint8Array<ArrayBuffer>) => {
        const headers = new Headers({ 'Content-Length': String(bytes.byteLength), 'Content-Type': response.headers.get('Content-Type') ?? 'application/octet-stream' });
        // Kept under the server's rules, as if it had come with a length.
        for (const name of ['Cache-Control', 'Expires', 'Date', 'Age']) if (response.headers.has(name)) headers.set(name, response.headers.get(name)!);
        void openDownload(ctx, { file, firstRange: null, fetchUpstream: async () => new Response(bytes, { headers }), waitUntil }).catch(() => undefined);
      };
      // Checked whole in memory: within the worker's one bound, waiting a while for room.
      const need = response.ok ? Math.min(Number(response.headers.get('Content-Length') ?? MEMORY_CHECK_BYTES) || MEMORY_CHECK_BYTES, MEMORY_CHECK_BYTES) : 0;
      if (need > 0 && !(await (ctx.memory?.reserve(need, MEMORY_WAIT_MS, session.id) ?? true))) {
        void response.body?.cancel();
        trace.outcome = 'failed';
        return MEMORY_BUSY();
      }
      try {
        const checked = await checkedInMemory(ctx, response, attachment, keep).catch((error: unknown) => DOWNLOAD_FAILED(error));
        if (checked instanceof Response) {
          if (!checked.ok) trace.outcome = 'failed';
          return checked;
        }
        return await decrypted(attachment, checked.byteLength, rangeHeader, inMemory(attachment, cryptoKey, checked));
      } finally {
        if (need > 0) ctx.memory?.give(need, session.id);
      }
    }

    trace.source = opened.source;
    const download = opened.download;
    let checked: CheckedFile;
    try {
      checked = await verdictFor(ctx, download, attachment);
    } catch (error) {
      if (attempt < CHECK_ATTEMPTS) continue;
      trace.outcome = 'failed';
      return DOWNLOAD_FAILED(download.failure ?? error);
    }
    if (!checked.matches) {
      download.stop();
      await download.finished;
      ctx.verified.delete(copyId(download, attachment));
      await ctx.store.deleteCopy(file.key, download.generation).catch(() => undefined);
      trace.outcome = 'failed';
      return HASH_MISMATCH();
    }
    const plaintext = checked.bytes
      ? inMemory(attachment, cryptoKey, checked.bytes)
      : streamed(attachment, cryptoKey, (start, end) => download.read(start, end, UNVERIFIED));
    return decrypted(attachment, download.size, rangeHeader, plaintext);
  }
}
