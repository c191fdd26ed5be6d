import { describe, expect, it } from 'vitest';
import { HS, KEY, setup } from '../workerHarness.js';

/**
 * A download cut mid-body (a reset, a proxy's limit, a network switch) carries on through the
 * store: the element reading it gets every byte, the new download skips what was stored, and the
 * file ends stored whole, so the next view sends nothing.
 */

const FILE = new Uint8Array(Array.from({ length: 20 }, (_, i) => i + 1));

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
    expect(await t.ctx.store.get(`s1 ${HS} hs.example/vid`)).toMatchObject({ size: 20, stored: 20 });
    const again = await t.request(url, { headers: { Range: 'bytes=5-' } });
    expect(new Uint8Array(await again.arrayBuffer())).toEqual(FILE.slice(5));
    expect(t.mediaSeen().filter((s) => s.method === 'GET')).toHaveLength(2);
  });
});
