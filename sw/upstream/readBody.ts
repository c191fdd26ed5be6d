/** How a response body is read: never waiting for ever on a silent server, never past a bound. */

/**
 * How long a response body may stay silent, once it flows, before the worker gives up on it: a
 * server that stops sending mid-body must end in an error, never in a request that waits for ever.
 */
export const BODY_IDLE_TIMEOUT_MS = 30_000;

/** The next read of `reader`, or a TimeoutError (the body cancelled) when nothing comes within `idleMs`. */
export async function readWithin<T>(reader: ReadableStreamDefaultReader<T>, idleMs: number): Promise<ReadableStreamReadResult<T>> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const silent = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = new DOMException(`The homeserver sent nothing for ${idleMs} ms.`, 'TimeoutError');
      // Rejected first: cancelling ends the pending read as if the body were complete.
      reject(error);
      void reader.cancel(error).catch(() => undefined);
    }, idleMs);
  });
  try {
    return await Promise.race([reader.read(), silent]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A response body read whole into memory, at most `maxBytes` of it: undefined (the body
 * cancelled) when it is longer, a TimeoutError when it stalls for `idleMs` or is still coming at
 * `deadline` (ms since the epoch; none by default).
 */
export async function readBodyWithin(body: ReadableStream<Uint8Array>, maxBytes: number, idleMs = BODY_IDLE_TIMEOUT_MS, deadline = Infinity): Promise<Uint8Array<ArrayBuffer> | undefined> {
  const reader = body.getReader();
  const pieces: Uint8Array[] = [];
  let length = 0;
  for (;;) {
    const { done, value } = await readWithin(reader, Math.max(1, Math.min(idleMs, deadline - Date.now())));
    if (done) break;
    length += value.byteLength;
    if (length > maxBytes) {
      void reader.cancel().catch(() => undefined);
      return undefined;
    }
    pieces.push(value);
  }
  return joined(pieces, length);
}

/**
 * A short body (a Matrix error's JSON) read whole within `totalMs` however it trickles: undefined
 * (the body cancelled) when it is longer than `maxBytes` or late.
 */
export function readShortBody(body: ReadableStream<Uint8Array>, maxBytes: number, totalMs: number): Promise<Uint8Array<ArrayBuffer> | undefined> {
  return readBodyWithin(body, maxBytes, totalMs, Date.now() + totalMs).catch(() => undefined);
}

/** The pieces as one array of `size` bytes. */
export function joined(pieces: readonly Uint8Array[], size: number): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const piece of pieces) {
    bytes.set(piece, offset);
    offset += piece.byteLength;
  }
  return bytes;
}
