import { BODY_IDLE_TIMEOUT_MS, readWithin } from './readBody.js';

/**
 * Range emulation: Synapse ignores `Range` and answers 200 with the whole file
 * (element-hq/synapse#4780). Firefox and WebKit cannot seek a `<video>` without 206 answers, so
 * the worker cuts the asked range out of the streamed body itself.
 */

/** An inclusive byte range, as in `Content-Range`. */
export interface ByteRange {
  start: number;
  end: number;
}

/**
 * Parses a `Range` header against a body of `size` bytes. Returns undefined when the header
 * should be ignored (not bytes, several ranges, malformed: RFC 9110 lets a server send the whole
 * body then) and `'unsatisfiable'` when no byte of it lies in the body.
 */
export function parseRangeHeader(header: string, size: number): ByteRange | 'unsatisfiable' | undefined {
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match) return undefined;
  const [, first = '', last = ''] = match;
  if (first === '' && last === '') return undefined;
  if (first === '') {
    // A suffix range: the last N bytes.
    const length = Number(last);
    if (length === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - length), end: size - 1 };
  }
  const start = Number(first);
  if (last !== '' && Number(last) < start) return undefined;
  if (start >= size) return 'unsatisfiable';
  const end = last === '' ? size - 1 : Math.min(Number(last), size - 1);
  return { start, end };
}

/**
 * A stream of bytes `start` to `end` (inclusive) of `body`, read chunk by chunk, never buffered
 * whole; a body that sends nothing for `idleMs` while it is read ends in a TimeoutError.
 */
export function sliceStream(body: ReadableStream<Uint8Array>, { start, end }: ByteRange, idleMs = BODY_IDLE_TIMEOUT_MS): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let offset = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      for (;;) {
        const { done, value } = await readWithin(reader, idleMs);
        if (done) {
          controller.close();
          return;
        }
        const chunkStart = offset;
        offset += value.byteLength;
        if (offset <= start) continue;
        const from = Math.max(0, start - chunkStart);
        const to = Math.min(value.byteLength, end + 1 - chunkStart);
        controller.enqueue(value.subarray(from, to));
        if (offset > end) {
          // The rest of the file is not wanted: stop downloading it.
          controller.close();
          await reader.cancel();
        }
        return;
      }
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
}

const COPIED_HEADERS = ['Content-Type', 'Cache-Control', 'Last-Modified', 'ETag', 'Expires', 'Content-Language'];

/**
 * Answers a ranged request from a full 200 response: 206 with `Content-Range`, or 416 when the
 * range lies outside the body. Responses that are not a 200 with a known length, and headers
 * that should be ignored, come back unchanged.
 */
export function emulateRange(response: Response, rangeHeader: string): Response {
  const length = response.headers.get('Content-Length');
  if (response.status !== 200 || length === null || !/^\d+$/.test(length) || !response.body) return response;
  const size = Number(length);
  const range = parseRangeHeader(rangeHeader, size);
  if (range === undefined) return response;

  const headers = new Headers({ 'Accept-Ranges': 'bytes' });
  if (range === 'unsatisfiable') {
    void response.body.cancel();
    headers.set('Content-Range', `bytes */${size}`);
    return new Response(null, { status: 416, statusText: 'Range Not Satisfiable', headers });
  }
  for (const name of COPIED_HEADERS) {
    const value = response.headers.get(name);
    if (value !== null) headers.set(name, value);
  }
  headers.set('Content-Range', `bytes ${range.start}-${range.end}/${size}`);
  headers.set('Content-Length', String(range.end - range.start + 1));
  return new Response(sliceStream(response.body, range), { status: 206, statusText: 'Partial Content', headers });
}
