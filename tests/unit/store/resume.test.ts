import { describe, expect, it } from 'vitest';
import { HS, KEY, setup } from '../workerHarness.js';

/**
 * A download cut mid-body (a reset, a proxy's limit, a network switch) carries on through the
 * store: the element reading it gets every byte, the new download skips what was stored, and the
 * file ends stored whole, so the next view sends nothing.
 */

const FILE = new Uint8Array(Array.from({ length: 20 }, (_, i) => i + 1));

/**
 * The stored record once its download has ended: the resumed download began after the first
 * request's event was over, so it extends no event (the harness's waitUntil throws then, as a
 * browser's does) and settled() cannot wait for it.
 */
async function storedWhenDone(t: ReturnType<typeof setup>, key: string) {
  for (let i = 0; i < 200 && t.ctx.downloads.size > 0; i++) await new Promise((r) => setTimeout(r, 10));
  return t.ctx.store.get(key);
}

/** A 200 of the whole file (the server ignores Range) whose body breaks after `cutAt` bytes. */
function cutAfter(cutAt: number): Response {
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(FILE.slice(0, cutAt));
      controller.error(new TypeError('network error'));
    },
  });
  return new Response(body, { status: 200, headers: { 'Content-Type': 'video/webm', 'Content-Length': String(FILE.length) } });
}

describe('a download cut mid-body', () => {
  it('the reader gets the whole file, the rest comes through a new download that the store keeps, and a second view sends nothing', async () => {
    let downloads = 0;
    const t = setup({
      route: () => (++downloads === 1 ? cutAfter(10) : new Response(FILE, { status: 200, headers: { 'Content-Type': 'video/webm', 'Content-Length': String(FILE.length) } })),
    });
    await t.sessions.put({ id: 's1', key: KEY, homeserverUrl: HS, accessToken: 'tok' }, 'tab-1');
    const url = `${HS}/_matrix/client/v1/media/download/hs.example/vid`;
    const first = await t.request(url, { headers: { Range: 'bytes=0-' } });
    expect(new Uint8Array(await first.arrayBuffer())).toEqual(FILE);
    await t.settled();
    expect(await storedWhenDone(t, `s1 ${HS} hs.example/vid`)).toMatchObject({ size: 20, stored: 20 });
    const again = await t.request(url, { headers: { Range: 'bytes=5-' } });
    expect(new Uint8Array(await again.arrayBuffer())).toEqual(FILE.slice(5));
    expect(t.mediaSeen().filter((s) => s.method === 'GET')).toHaveLength(2);
  });
});

describe('a body that ends short of its length without an error (as Firefox may report a cut)', () => {
  it('counts as cut: two readers carry on through one new download, and the file ends stored whole', async () => {
    let downloads = 0;
    const short = () =>
      new Response(new ReadableStream<Uint8Array>({ start: (c) => (c.enqueue(FILE.slice(0, 10)), c.close()) }), {
        status: 200,
        headers: { 'Content-Type': 'video/webm', 'Content-Length': String(FILE.length) },
      });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const t = setup({
      route: async () => {
        if (++downloads > 1) return new Response(FILE, { status: 200, headers: { 'Content-Type': 'video/webm', 'Content-Length': String(FILE.length) } });
        await gate;
        return short();
      },
    });
    await t.sessions.put({ id: 's1', key: KEY, homeserverUrl: HS, accessToken: 'tok' }, 'tab-1');
    const url = `${HS}/_matrix/client/v1/media/download/hs.example/vid`;
    const head = t.request(url, { headers: { Range: 'bytes=0-' } });
    const tail = t.request(url, { headers: { Range: 'bytes=15-' } });
    release();
    expect(new Uint8Array(await (await head).arrayBuffer())).toEqual(FILE);
    expect(new Uint8Array(await (await tail).arrayBuffer())).toEqual(FILE.slice(15));
    await t.settled();
    expect(await storedWhenDone(t, `s1 ${HS} hs.example/vid`)).toMatchObject({ size: 20, stored: 20 });
    expect(t.mediaSeen().filter((s) => s.method === 'GET')).toHaveLength(2);
  });
});
