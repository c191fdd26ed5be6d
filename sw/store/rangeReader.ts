/**
 * How a request reads a range of a shared download: a stream that takes bytes from wherever the
 * download has them (`bytesAt`), and from `fallback` once it has none and will bring none.
 */

/** Where a reader goes for bytes that neither the store nor the download will bring: the network. */
export type Fallback = (start: number, end: number) => Promise<ReadableStream<Uint8Array>>;

export interface RangeSource {
  /** The next bytes from `position` on (at most to `end`), waiting while they are coming; undefined where none will. */
  bytesAt(position: number, end: number): Promise<Uint8Array | undefined>;
  /** Told once, when the reader is done: read to the end, cancelled, or failed. */
  left(): void;
}

/** A stream of bytes `start` to `end` (inclusive) of `source`; `fallback` serves what it cannot. */
export function readRange(source: RangeSource, start: number, end: number, fallback: Fallback): ReadableStream<Uint8Array> {
  let position = start;
  let rest: ReadableStreamDefaultReader<Uint8Array> | undefined;
  let open = true;
  const leave = () => {
    if (!open) return;
    open = false;
    source.left();
  };
  return new ReadableStream<Uint8Array>({
    // Every pull enqueues, closes or errors: a pull that returned with nothing would never be
    // called again, and the element would wait for ever.
    pull: async (controller) => {
      try {
        for (;;) {
          if (rest) {
            const { done, value } = await rest.read();
            if (done) {
              leave();
              controller.close();
            } else controller.enqueue(value);
            return;
          }
          if (position > end) {
            leave();
            controller.close();
            return;
          }
          const bytes = await source.bytesAt(position, end);
          if (bytes !== undefined) {
            controller.enqueue(bytes);
            position += bytes.byteLength;
            return;
          }
          // Neither kept nor coming: the network serves the rest (or the fallback refuses).
          rest = (await fallback(position, end)).getReader();
        }
      } catch (error) {
        leave();
        controller.error(error);
      }
    },
    cancel: () => {
      leave();
      return rest?.cancel();
    },
  });
}
