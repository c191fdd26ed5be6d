import { describe, expect, it, vi } from 'vitest';
import { DEFAULT_FRESH_MS, isFresh, keepRuleOf } from '../../../sw/store/freshness.js';
import { MediaStore } from '../../../sw/store/mediaStore.js';
import { clearStore, storeUsage } from '../../../sw/sessionMedia.js';
import { CONFIRMED_FOR_MS } from '../../../sw/store/useStored.js';
import type { MediaWorkerState } from '../../../sw/createMediaRoute.js';
import { HS, json, KEY, SCOPE, setup } from '../workerHarness.js';

/**
 * The media store follows the server's caching headers and the app (issue 23): what is kept,
 * for how long, what a recheck of a stale file does with each answer, and the app's levers.
 */

const rule = (headers: Record<string, string>) => keepRuleOf(new Headers(headers));

describe('what the server lets the store keep, and for how long (RFC 9111, a private cache)', () => {
  it('keeps nothing of a no-store file, nor of one that varies on everything', () => {
    expect(rule({ 'Cache-Control': 'no-store' }).store).toBe(false);
    expect(rule({ 'Cache-Control': 'private, no-store' }).store).toBe(false);
    expect(rule({ 'Cache-Control': 'public, max-age=600, No-Store' }).store).toBe(false);
    expect(rule({ 'Cache-Control': 'max-age=600', Vary: 'Accept, *' }).store).toBe(false);
  });

  it('keeps a no-cache file stale at once, so that every use asks the server', () => {
    expect(rule({ 'Cache-Control': 'no-cache' })).toEqual({ store: true, freshMs: 0, mustRevalidate: false });
    expect(rule({ 'Cache-Control': 'no-cache="Set-Cookie", max-age=600' }).freshMs).toBe(0);
  });

  it('is fresh for max-age less the Age the response already has', () => {
    expect(rule({ 'Cache-Control': 'max-age=600' }).freshMs).toBe(600_000);
    expect(rule({ 'Cache-Control': 'max-age=600', Age: '100' }).freshMs).toBe(500_000);
    expect(rule({ 'Cache-Control': 'max-age=60', Age: '100' }).freshMs).toBe(0);
  });

  it("reads Synapse's header as a day: s-maxage and proxy-revalidate are for shared caches", () => {
    expect(rule({ 'Cache-Control': 'public,max-age=86400,s-maxage=0,proxy-revalidate' })).toEqual({ store: true, freshMs: 86_400_000, mustRevalidate: false });
    // Dendrite's.
    expect(rule({ 'Cache-Control': 'public,max-age=86400,s-maxage=86400' }).freshMs).toBe(86_400_000);
    expect(rule({ 'Cache-Control': 's-maxage=60' }).freshMs).toBe(DEFAULT_FRESH_MS);
  });

  it('is fresh until Expires, counted from the server\'s Date', () => {
    expect(rule({ Expires: 'Wed, 02 Dec 2026 13:00:00 GMT', Date: 'Wed, 02 Dec 2026 12:00:00 GMT' }).freshMs).toBe(3_600_000);
    expect(rule({ Expires: 'Wed, 02 Dec 2026 11:00:00 GMT', Date: 'Wed, 02 Dec 2026 12:00:00 GMT' }).freshMs).toBe(0);
    // max-age wins over Expires.
    expect(rule({ 'Cache-Control': 'max-age=5', Expires: 'Wed, 02 Dec 2026 13:00:00 GMT', Date: 'Wed, 02 Dec 2026 12:00:00 GMT' }).freshMs).toBe(5_000);
  });

  it('without a word from the server, keeps a file fresh for the documented day', () => {
    expect(rule({})).toEqual({ store: true, freshMs: DEFAULT_FRESH_MS, mustRevalidate: false });
    expect(DEFAULT_FRESH_MS).toBe(24 * 60 * 60 * 1000);
  });

  it('counts freshness it cannot read as stale, and keeps the file', () => {
    expect(rule({ 'Cache-Control': 'max-age=soon' })).toEqual({ store: true, freshMs: 0, mustRevalidate: false });
    expect(rule({ 'Cache-Control': 'max-age=-5' }).freshMs).toBe(0);
    expect(rule({ 'Cache-Control': 'max-age' }).freshMs).toBe(0);
    expect(rule({ 'Cache-Control': 'max-age=60, max-age=3600' }).freshMs).toBe(0);
    expect(rule({ Expires: '0' }).freshMs).toBe(0);
    // A quoted value is read, as recipients should (RFC 9111 §5.2).
    expect(rule({ 'Cache-Control': 'max-age="60"' }).freshMs).toBe(60_000);
    expect(rule({ 'Cache-Control': 'must-revalidate, max-age=60' }).mustRevalidate).toBe(true);
  });

  it('serves a kept file unasked only within both the server\'s freshness and storeMaxAgeMs', () => {
    const file = { checkedAt: 1_000, freshMs: 60_000 };
    expect(isFresh(file, 1_000 + 59_999)).toBe(true);
    expect(isFresh(file, 1_000 + 60_000)).toBe(false);
    expect(isFresh(file, 1_000 + 30_000, 10_000)).toBe(false);
    expect(isFresh(file, 1_000 + 5_000, 10_000)).toBe(true);
    expect(isFresh(file, 1_000 + 5_000, 0)).toBe(false);
    // Kept by an earlier version (no check time), or the clock went back: asked again.
    expect(isFresh({}, 5_000)).toBe(false);
    expect(isFresh(file, 500)).toBe(false);
  });
});

const FILE = Uint8Array.from({ length: 40 }, (_, i) => i + 1);
const URL_OF_FILE = `${SCOPE}matrix-media-sw/s1/download/hs.example/clip`;

type Reply = Response | 'network-error' | 'hang';

/**
 * The worker against a server that serves FILE (ignoring Range, as Synapse does) under
 * `cacheControl` while `state.answer` is unset, and answers `state.answer(method)` after.
 */
async function storedThenAsked(cacheControl = 'no-cache') {
  const state: { answer?: (method: string) => Reply } = {};
  const t = setup({
    route: (request) => {
      const reply = state.answer?.(request.method);
      if (reply === 'network-error') throw new TypeError('Failed to fetch');
      if (reply === 'hang') return new Promise<Response>(() => undefined);
      if (reply) return reply;
      const body = request.method === 'HEAD' ? null : FILE.slice();
      return new Response(body, { status: 200, headers: { 'Content-Type': 'video/webm', 'Content-Length': String(FILE.length), 'Cache-Control': cacheControl } });
    },
  });
  t.ctx.recheckTimeoutMs = 200;
  await t.sessions.put({ id: 's1', key: KEY, homeserverUrl: HS, accessToken: 'tok' }, 'tab-1');
  const play = async () => {
    const response = await t.request(URL_OF_FILE, { headers: { Range: 'bytes=0-' } });
    const bytes = response.ok ? new Uint8Array(await response.arrayBuffer()) : undefined;
    await t.settled();
    return { status: response.status, bytes, source: t.traces.at(-1)!.source, body: response.ok ? undefined : await response.text() };
  };
  expect((await play()).bytes).toEqual(FILE);
  expect(t.ctx.store.usedBytes('s1')).toBe(FILE.length);
  const before = t.mediaSeen().length;
  const asked = () => t.mediaSeen().slice(before).map((seen) => seen.method);
  return { t, state, play, asked };
}

describe('a stale stored file is asked about on its first use, and not downloaded again', () => {
  it('200 to HEAD: served from the store after one HEAD, fresh again for the answer\'s max-age', async () => {
    const { play, asked, state } = await storedThenAsked();
    state.answer = () => new Response(null, { status: 200, headers: { 'Content-Length': String(FILE.length), 'Cache-Control': 'max-age=600' } });
    expect(await play()).toMatchObject({ status: 206, bytes: FILE, source: 'store-rechecked' });
    expect(asked()).toEqual(['HEAD']);
    expect(await play()).toMatchObject({ status: 206, bytes: FILE, source: 'store-fresh' });
    expect(asked()).toEqual(['HEAD']);
  });

  it('no-cache: one yes covers the ranges of one play, and a later play asks again', async () => {
    const { play, asked, state } = await storedThenAsked();
    state.answer = () => new Response(null, { status: 200, headers: { 'Content-Length': String(FILE.length), 'Cache-Control': 'no-cache' } });
    expect(await play()).toMatchObject({ status: 206, bytes: FILE, source: 'store-rechecked' });
    expect(await play()).toMatchObject({ status: 206, bytes: FILE, source: 'store-rechecked' });
    expect(asked()).toEqual(['HEAD']);
    vi.useFakeTimers({ now: Date.now() + CONFIRMED_FOR_MS, toFake: ['Date'] });
    try {
      expect(await play()).toMatchObject({ status: 206, bytes: FILE, source: 'store-rechecked' });
    } finally {
      vi.useRealTimers();
    }
    expect(asked()).toEqual(['HEAD', 'HEAD']);
  });

  it('405 to HEAD (Dendrite): a GET whose body is cancelled, and the stored bytes served', async () => {
    const { play, asked, state } = await storedThenAsked();
    let cancelled = false;
    state.answer = (method) =>
      method === 'HEAD'
        ? json(405, { errcode: 'M_UNRECOGNIZED', error: 'Method not allowed' })
        : new Response(new ReadableStream({ pull: (c) => c.enqueue(new Uint8Array(8)), cancel: () => void (cancelled = true) }), { status: 200, headers: { 'Content-Length': String(FILE.length) } });
    expect(await play()).toMatchObject({ status: 206, bytes: FILE, source: 'store-rechecked' });
    expect(asked()).toEqual(['HEAD', 'GET']);
    expect(cancelled).toBe(true);
  });

  for (const status of [404, 403, 410] as const) {
    it(`${status}: every stored byte goes, and the element gets the server's answer`, async () => {
      const { t, play, asked, state } = await storedThenAsked();
      const errcode = status === 403 ? 'M_FORBIDDEN' : 'M_NOT_FOUND';
      state.answer = (method) => (method === 'HEAD' ? new Response(null, { status }) : json(status, { errcode, error: 'gone' }));
      expect(await play()).toMatchObject({ status, bytes: undefined, body: JSON.stringify({ errcode, error: 'gone' }) });
      // A 404 to HEAD alone never deletes: the GET's Matrix error decides (M_UNRECOGNIZED would fall back).
      expect(asked()).toEqual(['HEAD', 'GET']);
      expect(t.ctx.store.usedBytes('s1')).toBe(0);
      expect(await new MediaStore({ chunkBytes: 4 }).get(`s1 ${HS} hs.example/clip`)).toBeUndefined();
    });
  }

  it('404 M_UNRECOGNIZED (a server without authenticated media) is followed to the legacy endpoint, and the file kept', async () => {
    const { t, play, asked, state } = await storedThenAsked();
    state.answer = (method) => {
      if (t.seen.at(-1)!.url.includes('/_matrix/media/v3/')) return new Response(null, { status: 200, headers: { 'Content-Length': String(FILE.length) } });
      return method === 'HEAD' ? new Response(null, { status: 404 }) : json(404, { errcode: 'M_UNRECOGNIZED', error: 'Unrecognized request' });
    };
    expect(await play()).toMatchObject({ status: 206, bytes: FILE, source: 'store-rechecked' });
    expect(asked()).toEqual(['HEAD', 'GET', 'GET']);
    expect(t.ctx.store.usedBytes('s1')).toBe(FILE.length);
  });

  for (const [name, reply] of [
    ['500', () => json(500, { errcode: 'M_UNKNOWN', error: 'oops' })],
    ['a network error', () => 'network-error'],
    ['no answer (a timeout)', () => 'hang'],
  ] as Array<[string, () => Reply]>) {
    it(`${name}: the stored bytes are served, and the diagnostics say stale`, async () => {
      const { t, play, state, asked } = await storedThenAsked();
      state.answer = reply;
      expect(await play()).toMatchObject({ status: 206, bytes: FILE, source: 'store-stale' });
      expect(t.ctx.store.usedBytes('s1')).toBe(FILE.length);
      // The next range does not wait for another recheck.
      const count = asked().length;
      expect(await play()).toMatchObject({ status: 206, bytes: FILE, source: 'store-stale' });
      expect(asked().length).toBe(count);
    });
  }

  it('must-revalidate: a file the server could not confirm is not shown', async () => {
    const { t, play, state } = await storedThenAsked('no-cache, must-revalidate');
    state.answer = () => 'network-error';
    expect(await play()).toMatchObject({ status: 504 });
    expect(t.ctx.store.usedBytes('s1')).toBe(FILE.length);
  });

  it('a fresh file is served with no request at all, even after the server deleted it', async () => {
    const { play, asked, state } = await storedThenAsked('max-age=600');
    state.answer = () => json(404, { errcode: 'M_NOT_FOUND', error: 'gone' });
    expect(await play()).toMatchObject({ status: 206, bytes: FILE, source: 'store-fresh' });
    expect(asked()).toEqual([]);
  });

  it('storeMaxAgeMs makes a file the server calls fresh for a day stale sooner', async () => {
    const { t, play, asked, state } = await storedThenAsked('public,max-age=86400,s-maxage=0,proxy-revalidate');
    await t.ctx.store.setMaxAge('s1', 0);
    state.answer = () => new Response(null, { status: 404 });
    expect((await play()).status).toBe(404);
    expect(asked()).toEqual(['HEAD', 'GET']);
  });
});

/** A worker whose server sends FILE with `cacheControl`, its held bytes kept `lingerMs` unread, session s1 in `tabs`. */
async function noStoreServed(cacheControl: string, lingerMs: number, tabs: string[]) {
  const served = setup({
    route: (request) => new Response(request.method === 'HEAD' ? null : FILE.slice(), { status: 200, headers: { 'Content-Length': String(FILE.length), 'Cache-Control': cacheControl } }),
  });
  served.ctx.lingerMs = lingerMs;
  for (const tab of tabs) await served.sessions.put({ id: 's1', key: KEY, homeserverUrl: HS, accessToken: 'tok' }, tab);
  return served;
}

describe('no-store: nothing written, the view still served', () => {
  it('serves the ranges asked while a no-store file downloads from that one download, and stores none of it', async () => {
    const served = await noStoreServed('private, no-store', 30, ['tab-1']);
    const first = served.request(URL_OF_FILE, { headers: { Range: 'bytes=0-' } });
    const second = served.request(URL_OF_FILE, { headers: { Range: 'bytes=30-' } });
    expect(new Uint8Array(await (await first).arrayBuffer())).toEqual(FILE);
    expect(new Uint8Array(await (await second).arrayBuffer())).toEqual(FILE.slice(30));
    expect(served.mediaSeen().length).toBe(1);
    await served.settled();
    // A seek once the whole file has arrived still reads the view's download, from memory.
    expect(new Uint8Array(await (await served.request(URL_OF_FILE, { headers: { Range: 'bytes=10-19' } })).arrayBuffer())).toEqual(FILE.slice(10, 20));
    expect(served.mediaSeen().length).toBe(1);
    // Once nobody has read it for lingerMs, nothing of it is kept: a later play (or a reload) downloads again.
    await new Promise((r) => setTimeout(r, 80));
    expect(new Uint8Array(await (await served.request(URL_OF_FILE, { headers: { Range: 'bytes=10-19' } })).arrayBuffer())).toEqual(FILE.slice(10, 20));
    expect(served.mediaSeen().length).toBe(2);
    await served.settled();
    expect(served.ctx.store.usedBytes()).toBe(0);
    expect(await new MediaStore({ chunkBytes: 4 }).get(`s1 ${HS} hs.example/clip`)).toBeUndefined();
  });
});

describe('no-store: held for its view, not for the next one', () => {
  it('a page reloaded before the view\'s bytes were let go downloads the file again; the same page reads them', async () => {
    const served = await noStoreServed('no-store', 5_000, ['tab-1', 'tab-1-reloaded']);
    const play = async (clientId: string, range: string) => new Uint8Array(await (await served.request(URL_OF_FILE, { headers: { Range: range }, clientId })).arrayBuffer());
    expect(await play('tab-1', 'bytes=0-')).toEqual(FILE);
    await served.settled();
    expect(await play('tab-1', 'bytes=30-')).toEqual(FILE.slice(30));
    expect(served.mediaSeen().length).toBe(1);
    expect(await play('tab-1-reloaded', 'bytes=0-')).toEqual(FILE);
    expect(served.mediaSeen().length).toBe(2);
  });
});

describe("the app's levers: usage and clear", () => {
  const state = (t: ReturnType<typeof setup>) => ({ ...t.ctx, asked: t.ctx.asked }) as unknown as MediaWorkerState;

  it('counts the session\'s stored files and bytes, and its limit; after eviction only what is left', async () => {
    const t = setup({ route: () => new Response(FILE.slice(), { status: 200, headers: { 'Content-Length': String(FILE.length), 'Cache-Control': 'max-age=600' } }) });
    await t.sessions.put({ id: 's1', key: KEY, homeserverUrl: HS, accessToken: 'tok' }, 'tab-1');
    await t.ctx.store.setLimit('s1', 100);
    for (const name of ['a', 'b']) await (await t.request(`${SCOPE}matrix-media-sw/s1/download/hs.example/${name}`, { headers: { Range: 'bytes=0-' } })).arrayBuffer();
    await t.settled();
    expect(await storeUsage(state(t), 's1')).toEqual({ files: 2, bytes: 80, limitBytes: 100, memoryBytes: 0 });
    // A third file does not fit beside two: the least recently used goes.
    await (await t.request(`${SCOPE}matrix-media-sw/s1/download/hs.example/c`, { headers: { Range: 'bytes=0-' } })).arrayBuffer();
    await t.settled();
    expect(await storeUsage(state(t), 's1')).toEqual({ files: 2, bytes: 80, limitBytes: 100, memoryBytes: 0 });
    expect(await storeUsage(state(t), 'someone-else')).toMatchObject({ files: 0, bytes: 0 });
  });

  it('clearStore while a download runs: nothing of it is stored afterwards, and the element still gets every byte', async () => {
    let push: ((bytes: Uint8Array | null) => void) | undefined;
    let requests = 0;
    const t = setup({
      // The first download is fed by the test; any later request gets the whole file (Range ignored).
      route: () =>
        new Response(
          ++requests > 1
            ? FILE.slice()
            : new ReadableStream<Uint8Array>({ start: (c) => void (push = (bytes) => { try { if (bytes) c.enqueue(bytes); else c.close(); } catch { /* cancelled */ } }) }),
          { status: 200, headers: { 'Content-Length': String(FILE.length), 'Cache-Control': 'max-age=600' } },
        ),
    });
    await t.sessions.put({ id: 's1', key: KEY, homeserverUrl: HS, accessToken: 'tok' }, 'tab-1');
    const response = await t.request(URL_OF_FILE, { headers: { Range: 'bytes=0-' } });
    const body = response.arrayBuffer();
    push!(FILE.slice(0, 16));
    await new Promise((r) => setTimeout(r, 20));
    expect(t.ctx.store.usedBytes('s1')).toBeGreaterThan(0);
    await clearStore(state(t), 's1');
    push!(FILE.slice(16));
    push!(null);
    // The rest comes from the network (the fallback) now that the store's copy is gone.
    expect(new Uint8Array(await body)).toEqual(FILE);
    await t.settled();
    expect(t.ctx.store.usedBytes('s1')).toBe(0);
    expect(await new MediaStore({ chunkBytes: 4 }).get(`s1 ${HS} hs.example/clip`)).toBeUndefined();
    // The session stays: the next play downloads again, and is kept again.
    expect(await t.sessions.holdsKey('s1', KEY)).toBe(true);
  });
});
