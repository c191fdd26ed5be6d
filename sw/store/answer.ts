import { MEDIA_CONTENT_SECURITY_POLICY } from '../upstream/localResponse.js';
import { parseRangeHeader, sliceStream } from '../upstream/rangeResponse.js';
import type { Fallback } from './rangeReader.js';
import type { SharedDownload } from './sharedDownload.js';

/**
 * How a file request is answered: a download's bytes framed as the element asked (200, 206 or
 * 416, under the worker's media policy), and the bytes a download will not bring, from the network.
 */

/** Fetches the file upstream with the session's token, with this Range header (or none); GET unless told. */
export type FetchUpstream = (range: string | null, method?: 'GET' | 'HEAD') => Promise<Response>;

export function contentRangeStart(response: Response): number | undefined {
  const match = /^bytes (\d+)-\d+\/\d+$/.exec(response.headers.get('Content-Range') ?? '');
  return match ? Number(match[1]) : undefined;
}

/** Bytes `from` to `to` of an upstream response to `bytes=from-` (a server that ignores Range sends the whole file). */
export function sliceOf(response: Response, from: number, to: number, idleMs?: number): ReadableStream<Uint8Array> {
  if (!response.body || (response.status !== 200 && response.status !== 206)) throw new TypeError(`The homeserver answered ${response.status}.`);
  const offset = response.status === 206 ? (contentRangeStart(response) ?? 0) : 0;
  return sliceStream(response.body, { start: from - offset, end: to - offset }, idleMs);
}

/** Bytes that neither the store nor the download will bring come straight from the network. */
export function networkFallback(fetchUpstream: FetchUpstream, idleMs?: number): Fallback {
  return async (from, to) => sliceOf(await fetchUpstream(`bytes=${from}-`), from, to, idleMs);
}

/** Answers `rangeHeader` (or the whole file) with bytes of `download`. */
export function respond(download: SharedDownload, headers: Record<string, string>, rangeHeader: string | null, fallback: Fallback): Response {
  const size = download.size;
  const range = rangeHeader === null ? undefined : parseRangeHeader(rangeHeader, size);
  const out = new Headers({ ...headers, 'Accept-Ranges': 'bytes' });
  // Whatever the server's policy was, or whether it could be read: a stored HTML or SVG file
  // opened from the app's origin must not run script there. Two policies are both enforced.
  if (out.get('Content-Security-Policy') !== MEDIA_CONTENT_SECURITY_POLICY) out.append('Content-Security-Policy', MEDIA_CONTENT_SECURITY_POLICY);
  if (range === 'unsatisfiable') {
    out.delete('Content-Type');
    out.set('Content-Range', `bytes */${size}`);
    return new Response(null, { status: 416, statusText: 'Range Not Satisfiable', headers: out });
  }
  const { start, end } = range ?? { start: 0, end: size - 1 };
  out.set('Content-Length', String(end - start + 1));
  const body = size === 0 ? null : download.read(start, end, fallback);
  if (!range) return new Response(body, { status: 200, headers: out });
  out.set('Content-Range', `bytes ${start}-${end}/${size}`);
  return new Response(body, { status: 206, statusText: 'Partial Content', headers: out });
}
