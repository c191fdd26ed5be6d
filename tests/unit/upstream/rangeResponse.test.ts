import { describe, expect, it } from 'vitest';
import { emulateRange, parseRangeHeader, sliceStream } from '../../../sw/upstream/rangeResponse.js';

const BODY = Uint8Array.from({ length: 100 }, (_, i) => i);

/** A stream of BODY in chunks of the given sizes, recording how far the reader pulled. */
function chunked(sizes: number[]): { stream: ReadableStream<Uint8Array>; pulled: () => number; cancelled: () => boolean } {
  let offset = 0;
  let wasCancelled = false;
  let index = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      const size = sizes[index++];
      if (size === undefined || offset >= BODY.length) {
        controller.close();
        return;
      }
      controller.enqueue(BODY.slice(offset, offset + size));
      offset += size;
    },
    cancel() {
      wasCancelled = true;
    },
  });
  return { stream, pulled: () => offset, cancelled: () => wasCancelled };
}

async function bytes(stream: ReadableStream<Uint8Array>): Promise<number[]> {
  return [...new Uint8Array(await new Response(stream).arrayBuffer())];
}

const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => a + i);

describe('parseRangeHeader', () => {
  it.each([
    ['bytes=0-', { start: 0, end: 99 }],
    ['bytes=0-0', { start: 0, end: 0 }],
    ['bytes=10-19', { start: 10, end: 19 }],
    ['bytes=90-', { start: 90, end: 99 }],
    ['bytes=90-1000', { start: 90, end: 99 }],
    ['bytes=99-99', { start: 99, end: 99 }],
    ['bytes=-10', { start: 90, end: 99 }],
    ['bytes=-1000', { start: 0, end: 99 }],
    [' bytes=5-6 ', { start: 5, end: 6 }],
  ])('%s', (header, expected) => expect(parseRangeHeader(header, 100)).toEqual(expected));

  it.each(['bytes=100-', 'bytes=150-200', 'bytes=-0'])('%s is unsatisfiable', (header) =>
    expect(parseRangeHeader(header, 100)).toBe('unsatisfiable'),
  );

  it.each(['items=0-1', 'bytes=0-1,5-6', 'bytes=-', 'bytes=5-2', 'bytes=a-b', 'bytes 0-1', ''])('ignores %j', (header) =>
    expect(parseRangeHeader(header, 100)).toBeUndefined(),
  );

  it('finds nothing to serve in an empty body', () => {
    expect(parseRangeHeader('bytes=0-', 0)).toBe('unsatisfiable');
    expect(parseRangeHeader('bytes=-5', 0)).toBe('unsatisfiable');
  });
});

describe('sliceStream', () => {
  it.each([
    ['at a chunk boundary', [10, 10, 10, 70], 10, 29],
    ['inside chunks', [10, 10, 10, 70], 15, 24],
    ['just past a boundary', [10, 10, 10, 70], 11, 11],
    ['ending on a boundary', [10, 10, 10, 70], 0, 9],
    ['to the end', [7, 7, 7, 79], 50, 99],
    ['one byte chunks', Array(100).fill(1), 40, 45],
    ['one chunk', [100], 3, 97],
  ])('%s', async (_label, sizes, start, end) => {
    const { stream } = chunked(sizes);
    expect(await bytes(sliceStream(stream, { start, end }))).toEqual(range(start, end));
  });

  it('stops reading the source after the range', async () => {
    const source = chunked([10, 10, 10, 10, 10, 10, 10, 10, 10, 10]);
    expect(await bytes(sliceStream(source.stream, { start: 0, end: 14 }))).toEqual(range(0, 14));
    expect(source.pulled()).toBeLessThanOrEqual(30);
    expect(source.cancelled()).toBe(true);
  });
});

describe('emulateRange', () => {
  const full = () =>
    new Response(chunked([33, 33, 34]).stream, {
      status: 200,
      headers: { 'Content-Type': 'video/webm', 'Content-Length': '100', 'Cache-Control': 'public' },
    });

  it('answers a ranged request with 206 and the asked bytes', async () => {
    const response = emulateRange(full(), 'bytes=30-69');
    expect(response.status).toBe(206);
    expect(response.headers.get('Content-Range')).toBe('bytes 30-69/100');
    expect(response.headers.get('Content-Length')).toBe('40');
    expect(response.headers.get('Accept-Ranges')).toBe('bytes');
    expect(response.headers.get('Content-Type')).toBe('video/webm');
    expect([...new Uint8Array(await response.arrayBuffer())]).toEqual(range(30, 69));
  });

  it('answers an open-ended range from the start with the whole body as 206', async () => {
    const response = emulateRange(full(), 'bytes=0-');
    expect(response.status).toBe(206);
    expect(response.headers.get('Content-Range')).toBe('bytes 0-99/100');
    expect((await response.arrayBuffer()).byteLength).toBe(100);
  });

  it('answers a suffix range', async () => {
    const response = emulateRange(full(), 'bytes=-5');
    expect(response.headers.get('Content-Range')).toBe('bytes 95-99/100');
    expect([...new Uint8Array(await response.arrayBuffer())]).toEqual(range(95, 99));
  });

  it('answers 416 for a range past the end', () => {
    const response = emulateRange(full(), 'bytes=100-');
    expect(response.status).toBe(416);
    expect(response.headers.get('Content-Range')).toBe('bytes */100');
  });

  it('leaves a real 206 from the server alone', () => {
    const partial = new Response('xy', { status: 206, headers: { 'Content-Range': 'bytes 0-1/100', 'Content-Length': '2' } });
    expect(emulateRange(partial, 'bytes=0-1')).toBe(partial);
  });

  it('leaves errors, unknown lengths and ignorable ranges alone', () => {
    const notFound = new Response('{}', { status: 404, headers: { 'Content-Length': '2' } });
    expect(emulateRange(notFound, 'bytes=0-')).toBe(notFound);
    const noLength = new Response(chunked([100]).stream, { status: 200 });
    expect(emulateRange(noLength, 'bytes=0-')).toBe(noLength);
    const response = full();
    expect(emulateRange(response, 'bytes=0-1,4-5')).toBe(response);
  });
});
