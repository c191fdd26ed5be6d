import { beforeEach, describe, expect, it, vi } from 'vitest';
import { classifyMediaUrl } from '../../sw/routing/classifyMediaUrl.js';
import { newTrace } from '../../sw/diagnostics.js';
import { handleMediaRequest } from '../../sw/handleMediaRequest.js';
import { MediaStore } from '../../sw/store/mediaStore.js';
import { HS, json, KEY, SCOPE, setup, type Route } from './workerHarness.js';

describe('handleMediaRequest', () => {
  beforeEach(() => vi.restoreAllMocks());

  it('rewrites a legacy URL to v1 with the tab\'s token, as a fresh CORS request', async () => {
    const t = setup();
    await t.sessions.put({ id: 's1', key: KEY, homeserverUrl: HS, accessToken: 'tok-1' }, 'tab-1');
    const response = await t.request(`${HS}/_matrix/media/v3/download/hs.example/abc?access_token=leak`);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('media bytes');
    expect(t.mediaSeen()).toEqual([
      { url: `${HS}/_matrix/client/v1/media/download/hs.example/abc`, authorization: 'Bearer tok-1', range: null, mode: 'cors', method: 'GET' },
    ]);
  });

  it('sends /versions without a token', async () => {
    const t = setup();
    await t.sessions.put({ id: 's1', key: KEY, homeserverUrl: HS, accessToken: 'tok-1' }, 'tab-1');
    await t.request(`${HS}/_matrix/media/v3/download/hs.example/abc`);
    expect(t.seen.find((s) => s.url.endsWith('/versions'))?.authorization).toBeNull();
  });

  it('copies a simple Range across, and drops a multi-range one', async () => {
    const t = setup({ route: () => new Response('x', { status: 206, headers: { 'Content-Range': 'bytes 5-5/10' } }) });
    await t.sessions.put({ id: 's1', key: KEY, homeserverUrl: HS, accessToken: 'tok' }, 'tab-1');
    await t.request(`${HS}/_matrix/client/v1/media/download/hs.example/abc`, { headers: { Range: 'bytes=5-' } });
    await t.request(`${HS}/_matrix/client/v1/media/download/hs.example/abc`, { headers: { Range: 'bytes=0-1,3-4' } });
    expect(t.mediaSeen().map((s) => s.range)).toEqual(['bytes=5-', null]);
  });

  it('answers 206 itself when the server ignores Range', async () => {
    const t = setup({
      route: () => new Response('0123456789', { status: 200, headers: { 'Content-Type': 'video/webm', 'Content-Length': '10' } }),
    });
    await t.sessions.put({ id: 's1', key: KEY, homeserverUrl: HS, accessToken: 'tok' }, 'tab-1');
    const response = await t.request(`${HS}/_matrix/media/v3/download/hs.example/vid`, { headers: { Range: 'bytes=4-6' } });
    expect(response.status).toBe(206);
    expect(response.headers.get('Content-Range')).toBe('bytes 4-6/10');
    expect(await response.text()).toBe('456');
  });

  it('lets legacy URLs pass unchanged and without a token when the server predates Matrix 1.11', async () => {
    const t = setup({ versions: ['v1.10'] });
    await t.sessions.put({ id: 's1', key: KEY, homeserverUrl: HS, accessToken: 'tok' }, 'tab-1');
    await t.request(`${HS}/_matrix/media/r0/thumbnail/hs.example/abc?width=8&height=8`);
    expect(t.mediaSeen()).toEqual([
      { url: `${HS}/_matrix/media/r0/thumbnail/hs.example/abc?width=8&height=8`, authorization: null, range: null, mode: 'cors', method: 'GET' },
    ]);
  });

  it('falls back to the legacy URL, without a token, on 404 M_UNRECOGNIZED', async () => {
    const t = setup({
      versions: ['v1.11'],
      route: (req) =>
        req.url.includes('/client/v1/') ? json(404, { errcode: 'M_UNRECOGNIZED', error: 'Unrecognized request' }) : new Response('old'),
    });
    await t.sessions.put({ id: 's1', key: KEY, homeserverUrl: HS, accessToken: 'tok' }, 'tab-1');
    const response = await t.request(`${HS}/_matrix/client/v1/media/download/hs.example/abc`);
    expect(await response.text()).toBe('old');
    expect(t.mediaSeen().map((s) => [s.url, s.authorization])).toEqual([
      [`${HS}/_matrix/client/v1/media/download/hs.example/abc`, 'Bearer tok'],
      [`${HS}/_matrix/media/v3/download/hs.example/abc`, null],
    ]);
  });

  it('does not mistake a frozen legacy 404 M_NOT_FOUND for an old server', async () => {
    const t = setup({ route: () => json(404, { errcode: 'M_NOT_FOUND', error: 'Not found' }) });
    await t.sessions.put({ id: 's1', key: KEY, homeserverUrl: HS, accessToken: 'tok' }, 'tab-1');
    const response = await t.request(`${HS}/_matrix/client/v1/media/download/hs.example/abc`);
    expect(response.status).toBe(404);
    expect(t.mediaSeen()).toHaveLength(1);
  });

  it('never gives the token to another origin, another port or a path outside the prefix', async () => {
    const t = setup();
    await t.sessions.put({ id: 's1', key: KEY, homeserverUrl: `${HS}/matrix`, accessToken: 'tok' }, 'tab-1');
    for (const url of [
      'https://evil.example/matrix/_matrix/media/v3/download/hs.example/abc',
      'https://hs.example:8443/matrix/_matrix/media/v3/download/hs.example/abc',
      'https://hs.example.evil/matrix/_matrix/client/v1/media/download/hs.example/abc',
      'https://hs.example/_matrix/client/v1/media/download/hs.example/abc',
      'https://hs.example/matrix2/_matrix/client/v1/media/download/hs.example/abc',
    ]) {
      await t.request(url);
    }
    expect(t.seen.every((s) => s.authorization === null)).toBe(true);
    expect(t.seen).toHaveLength(5);
  });

  it('keeps two tabs\' tokens apart', async () => {
    const t = setup();
    await t.sessions.put({ id: 'alice', key: KEY, homeserverUrl: HS, accessToken: 'tok-alice' }, 'tab-a');
    await t.sessions.put({ id: 'bob', key: KEY, homeserverUrl: HS, accessToken: 'tok-bob' }, 'tab-b');
    await t.request(`${HS}/_matrix/media/v3/download/hs.example/a`, { clientId: 'tab-a' });
    await t.request(`${HS}/_matrix/media/v3/download/hs.example/b`, { clientId: 'tab-b' });
    expect(t.mediaSeen().map((s) => s.authorization)).toEqual(['Bearer tok-alice', 'Bearer tok-bob']);
  });

  it('asks a tab it has never heard of once, then uses what it said', async () => {
    const t = setup({
      ask: (_id, m) =>
        m.type === 'mms/session-request' ? { type: 'mms/session-reply', sessions: [{ id: 's9', key: KEY, homeserverUrl: HS, accessToken: 'pulled' }] } : undefined,
    });
    await Promise.all([1, 2, 3].map((n) => t.request(`${HS}/_matrix/media/v3/download/hs.example/m${n}`, { clientId: 'new-tab' })));
    await t.request(`${HS}/_matrix/media/v3/download/hs.example/m4`, { clientId: 'new-tab' });
    expect(t.asked).toEqual([{ type: 'mms/session-request' }]);
    expect(t.mediaSeen().map((s) => s.authorization)).toEqual(Array(4).fill('Bearer pulled'));
  });

  it('lets media of a tab without a session pass untouched, and stops asking it', async () => {
    const t = setup({ ask: () => ({ type: 'mms/session-reply', sessions: [] }) });
    await t.request(`${HS}/_matrix/media/v3/download/hs.example/a`, { clientId: 'stranger' });
    await t.request(`${HS}/_matrix/media/v3/download/hs.example/b`, { clientId: 'stranger' });
    expect(t.asked).toHaveLength(1);
    expect(t.mediaSeen().map((s) => [s.url, s.authorization])).toEqual([
      [`${HS}/_matrix/media/v3/download/hs.example/a`, null],
      [`${HS}/_matrix/media/v3/download/hs.example/b`, null],
    ]);
  });

  it('refreshes an expired token once for a burst of failures, and retries each once', async () => {
    let refreshes = 0;
    const t = setup({
      route: (_req, token) => (token === 'fresh' ? new Response('ok') : json(401, { errcode: 'M_UNKNOWN_TOKEN', error: 'expired', soft_logout: true })),
      ask: (_id, m) => {
        if (m.type !== 'mms/refresh-request') return undefined;
        refreshes += 1;
        return { type: 'mms/refresh-reply', accessToken: 'fresh' };
      },
    });
    await t.sessions.put({ id: 's1', key: KEY, homeserverUrl: HS, accessToken: 'stale' }, 'tab-1');
    const responses = await Promise.all(
      Array.from({ length: 20 }, (_, i) => t.request(`${HS}/_matrix/media/v3/download/hs.example/m${i}`)),
    );
    expect(responses.map((r) => r.status)).toEqual(Array(20).fill(200));
    expect(refreshes).toBe(1);
    expect(t.mediaSeen()).toHaveLength(40);
    expect((await t.sessions.byId('s1'))?.accessToken).toBe('fresh');
  });

  it('gives the element the 401 when no new token can be had, without looping or asking again', async () => {
    const t = setup({
      route: () => json(401, { errcode: 'M_UNKNOWN_TOKEN', error: 'expired', soft_logout: true }),
      ask: () => ({ type: 'mms/refresh-reply', accessToken: null }),
    });
    await t.sessions.put({ id: 's1', key: KEY, homeserverUrl: HS, accessToken: 'stale' }, 'tab-1');
    const response = await t.request(`${HS}/_matrix/media/v3/download/hs.example/m`);
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ errcode: 'M_UNKNOWN_TOKEN' });
    expect(t.mediaSeen()).toHaveLength(1);
    await t.request(`${HS}/_matrix/media/v3/download/hs.example/n`);
    expect(t.asked.filter((m) => m.type === 'mms/refresh-request')).toHaveLength(1);
  });

  it('serves a mediaUrl download with its session\'s token and safe headers', async () => {
    const t = setup({
      route: () => new Response('<svg/>', { status: 200, headers: { 'Content-Type': 'image/svg+xml', 'Content-Length': '6' } }),
    });
    await t.sessions.put({ id: 'sid', key: KEY, homeserverUrl: HS, accessToken: 'tok' }, 'some-tab');
    const response = await t.request(`${SCOPE}matrix-media-sw/sid/download/hs.example/abc/pic.svg`, { clientId: 'some-tab' });
    expect(t.mediaSeen()).toEqual([
      { url: `${HS}/_matrix/client/v1/media/download/hs.example/abc/pic.svg`, authorization: 'Bearer tok', range: null, mode: 'cors', method: 'GET' },
    ]);
    expect(response.headers.get('Content-Disposition')).toBe(`attachment; filename="pic.svg"; filename*=UTF-8''pic.svg`);
    expect(response.headers.get('X-Content-Type-Options')).toBe('nosniff');
    expect(response.headers.get('Content-Security-Policy')).toMatch(/^sandbox;.*script-src 'none'/);
  });

  it('serves allow-listed types from mediaUrl inline', async () => {
    const t = setup();
    await t.sessions.put({ id: 'sid', key: KEY, homeserverUrl: HS, accessToken: 'tok' }, 'tab-1');
    const response = await t.request(`${SCOPE}matrix-media-sw/sid/thumbnail/hs.example/abc?width=32&height=32`);
    expect(t.mediaSeen()[0]?.url).toBe(`${HS}/_matrix/client/v1/media/thumbnail/hs.example/abc?width=32&height=32`);
    expect(response.headers.get('Content-Disposition')).toBe('inline');
  });

  it('serves an allow-listed type as an attachment when the URL asks, and keeps the parameter from the homeserver', async () => {
    const t = setup({
      route: () => new Response('png', { status: 200, headers: { 'Content-Type': 'image/png', 'Content-Length': '3' } }),
    });
    await t.sessions.put({ id: 'sid', key: KEY, homeserverUrl: HS, accessToken: 'tok' }, 'tab-1');
    const response = await t.request(`${SCOPE}matrix-media-sw/sid/download/hs.example/abc/cat.png?attachment=true`);
    expect(t.mediaSeen()[0]?.url).toBe(`${HS}/_matrix/client/v1/media/download/hs.example/abc/cat.png`);
    expect([response.headers.get('Content-Type'), response.headers.get('Content-Disposition')]).toEqual(['image/png', `attachment; filename="cat.png"; filename*=UTF-8''cat.png`]);
  });

  it('answers a mediaUrl of a forgotten session with 401, sending nothing upstream', async () => {
    const t = setup();
    const response = await t.request(`${SCOPE}matrix-media-sw/gone/download/hs.example/abc`);
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ errcode: 'M_MISSING_TOKEN' });
    expect(t.seen).toHaveLength(0);
  });

  it('answers a malformed mediaUrl with 400', async () => {
    const t = setup();
    const response = await t.request(`${SCOPE}matrix-media-sw/sid/download/bad_host/abc`);
    expect(response.status).toBe(400);
    expect(t.seen).toHaveLength(0);
  });

  it('uses the homeserver\'s newest session for a navigation that has no tab yet', async () => {
    const t = setup();
    await t.sessions.put({ id: 's1', key: KEY, homeserverUrl: HS, accessToken: 'tok' }, 'tab-1');
    const nav = new Request(`${HS}/_matrix/media/v3/download/hs.example/abc`);
    Object.defineProperty(nav, 'mode', { value: 'navigate' });
    const media = classifyMediaUrl(new URL(nav.url), SCOPE)!;
    await handleMediaRequest(t.ctx, { request: nav, clientId: '', media, trace: newTrace() });
    expect(t.mediaSeen()[0]?.authorization).toBe('Bearer tok');
  });
});

describe('handleMediaRequest: faults', () => {
  it('retries a 429 after retry_after_ms and serves the media', async () => {
    let calls = 0;
    const t = setup({
      route: () => (++calls === 1 ? json(429, { errcode: 'M_LIMIT_EXCEEDED', error: 'slow down', retry_after_ms: 30 }) : new Response('ok')),
    });
    await t.sessions.put({ id: 's1', key: KEY, homeserverUrl: HS, accessToken: 'tok' }, 'tab-1');
    const response = await t.request(`${HS}/_matrix/media/v3/download/hs.example/abc`);
    expect(await response.text()).toBe('ok');
    expect(t.mediaSeen()).toHaveLength(2);
  });

  it('strips a token the page put in a legacy URL before passing it to an old server', async () => {
    const t = setup({ versions: ['v1.9'] });
    await t.sessions.put({ id: 's1', key: KEY, homeserverUrl: HS, accessToken: 'tok' }, 'tab-1');
    await t.request(`${HS}/_matrix/media/v3/download/hs.example/abc?access_token=tok&x=1`);
    expect(t.mediaSeen().map((s) => [s.url, s.authorization])).toEqual([[`${HS}/_matrix/media/v3/download/hs.example/abc?x=1`, null]]);
  });

  it('passes 500 and 404 to the element unchanged, without retrying', async () => {
    for (const [status, errcode] of [[500, 'M_UNKNOWN'], [404, 'M_NOT_FOUND']] as const) {
      const t = setup({ route: () => json(status, { errcode, error: 'x' }) });
      await t.sessions.put({ id: 's1', key: KEY, homeserverUrl: HS, accessToken: 'tok' }, 'tab-1');
      const response = await t.request(`${HS}/_matrix/media/v3/download/hs.example/abc`);
      expect(response.status).toBe(status);
      expect(await response.json()).toMatchObject({ errcode });
      expect(t.mediaSeen()).toHaveLength(1);
    }
  });
});

describe('handleMediaRequest: the media store, against a server that ignores Range', () => {
  const VIDEO = Uint8Array.from({ length: 30 }, (_, i) => i);
  const ignoresRange: Route = () => new Response(VIDEO.slice(), { status: 200, headers: { 'Content-Type': 'video/webm', 'Content-Length': String(VIDEO.length) } });
  const honoursRange: Route = (request) => {
    const [, from = '0'] = /bytes=(\d+)-/.exec(request.headers.get('Range') ?? '') ?? [];
    const start = Number(from);
    return new Response(VIDEO.slice(start), {
      status: 206,
      headers: { 'Content-Type': 'video/webm', 'Content-Length': String(VIDEO.length - start), 'Content-Range': `bytes ${start}-${VIDEO.length - 1}/${VIDEO.length}` },
    });
  };
  const URL_ = `${HS}/_matrix/media/v3/download/hs.example/vid`;
  const ranged = (t: ReturnType<typeof setup>, range: string, clientId = 'tab-1') => t.request(URL_, { headers: { Range: range }, clientId });
  const bytesOf = async (response: Response) => [...new Uint8Array(await response.arrayBuffer())];

  it('downloads the file once for the first range, a seek and a replay after a restart', async () => {
    const t = setup({ route: ignoresRange });
    await t.sessions.put({ id: 's1', key: KEY, homeserverUrl: HS, accessToken: 'tok' }, 'tab-1');
    const first = await ranged(t, 'bytes=0-');
    expect([first.status, first.headers.get('Content-Range')]).toEqual([206, 'bytes 0-29/30']);
    expect(await bytesOf(first)).toEqual([...VIDEO]);
    const seek = await ranged(t, 'bytes=27-');
    expect([seek.status, seek.headers.get('Content-Range'), seek.headers.get('Content-Type')]).toEqual([206, 'bytes 27-29/30', 'video/webm']);
    expect(await bytesOf(seek)).toEqual([27, 28, 29]);
    await t.settled();
    expect(t.mediaSeen()).toHaveLength(1);

    // The browser stopped the worker: a new store on the same database serves it all.
    t.ctx.store = new MediaStore({ chunkBytes: 4, quota: async () => undefined });
    t.ctx.downloads = new Map();
    const replay = await ranged(t, 'bytes=10-13');
    expect(await bytesOf(replay)).toEqual([10, 11, 12, 13]);
    const whole = await t.request(URL_);
    expect([whole.status, whole.headers.get('Content-Length')]).toEqual([200, '30']);
    expect(await bytesOf(whole)).toEqual([...VIDEO]);
    expect(await ranged(t, 'bytes=40-').then((r) => [r.status, r.headers.get('Content-Range')])).toEqual([416, 'bytes */30']);
    expect(t.mediaSeen()).toHaveLength(1);
  });

  it('keeps each session\'s bytes apart: another session downloads its own with its own token', async () => {
    const t = setup({ route: ignoresRange });
    await t.sessions.put({ id: 's1', key: KEY, homeserverUrl: HS, accessToken: 'alice' }, 'tab-1');
    await t.sessions.put({ id: 's2', key: KEY, homeserverUrl: HS, accessToken: 'bob' }, 'tab-2');
    await bytesOf(await ranged(t, 'bytes=0-', 'tab-1'));
    await t.settled();
    await bytesOf(await ranged(t, 'bytes=5-', 'tab-2'));
    expect(t.mediaSeen().map((s) => s.authorization)).toEqual(['Bearer alice', 'Bearer bob']);
  });

  it('passes a server\'s own 206 on and stores nothing', async () => {
    const t = setup({ route: honoursRange });
    await t.sessions.put({ id: 's1', key: KEY, homeserverUrl: HS, accessToken: 'tok' }, 'tab-1');
    const seek = await ranged(t, 'bytes=27-');
    expect([seek.status, seek.headers.get('Content-Range')]).toEqual([206, 'bytes 27-29/30']);
    expect(await bytesOf(seek)).toEqual([27, 28, 29]);
    expect(t.mediaSeen().map((s) => s.range)).toEqual(['bytes=27-']);
    expect(t.ctx.store.list()).toEqual([]);
  });

  it('holds a file larger than the store limit in memory for its view: a seek after it arrived downloads nothing, and nothing is stored', async () => {
    const t = setup({ route: ignoresRange });
    t.ctx.lingerMs = 30;
    await t.ctx.store.setLimit('s1', 20);
    await t.sessions.put({ id: 's1', key: KEY, homeserverUrl: HS, accessToken: 'tok' }, 'tab-1');
    expect(await bytesOf(await ranged(t, 'bytes=25-'))).toEqual([25, 26, 27, 28, 29]);
    // The element seeks back once the whole file has arrived (a busy machine's player is late).
    await new Promise((r) => setTimeout(r, 10));
    expect(await bytesOf(await ranged(t, 'bytes=3-5'))).toEqual([3, 4, 5]);
    expect(t.mediaSeen()).toHaveLength(1);
    expect(t.ctx.store.list()).toEqual([]);
    // Unread for lingerMs, the view is over: its bytes go, and the next play downloads again.
    await new Promise((r) => setTimeout(r, 80));
    expect(await bytesOf(await ranged(t, 'bytes=25-'))).toEqual([25, 26, 27, 28, 29]);
    expect(t.mediaSeen()).toHaveLength(2);
  });

  it('stores what a media element asks for without Range, as WebKit does, and replays it from the store', async () => {
    const t = setup({ route: ignoresRange });
    await t.sessions.put({ id: 's1', key: KEY, homeserverUrl: HS, accessToken: 'tok' }, 'tab-1');
    const asVideo = () => {
      const request = new Request(URL_);
      Object.defineProperty(request, 'destination', { value: 'video' });
      return handleMediaRequest(t.ctx, { request, clientId: 'tab-1', media: classifyMediaUrl(new URL(URL_), SCOPE)!, trace: newTrace(), waitUntil: () => undefined });
    };
    expect(await bytesOf(await asVideo())).toEqual([...VIDEO]);
    await new Promise((r) => setTimeout(r, 20));
    const again = await asVideo();
    expect([again.status, again.headers.get('Content-Length')]).toEqual([200, '30']);
    expect(await bytesOf(again)).toEqual([...VIDEO]);
    expect(t.mediaSeen()).toHaveLength(1);
  });

  it('leaves images without Range to the browser\'s HTTP cache', async () => {
    const t = setup({ route: ignoresRange });
    await t.sessions.put({ id: 's1', key: KEY, homeserverUrl: HS, accessToken: 'tok' }, 'tab-1');
    await bytesOf(await t.request(URL_));
    await bytesOf(await t.request(URL_));
    expect(t.mediaSeen()).toHaveLength(2);
    expect(t.ctx.store.list()).toEqual([]);
  });
});
