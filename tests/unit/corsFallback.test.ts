import { afterEach, describe, expect, it, vi } from 'vitest';
import { BLOCKED_LIFETIME_MS } from '../../sw/session/authenticatedPath.js';
import { HS, json, KEY, setup, type Route, type SetupOptions } from './workerHarness.js';

/**
 * Never worse than no worker (issue 22): a homeserver whose authenticated media cannot pass the
 * CORS preflight (Dendrite 0.13 answers it with 401 and no CORS headers) still gets its media
 * shown, through its legacy endpoint, without a token, as the browser would without a worker.
 */

/** Dendrite's behaviour as the worker sees it: an authenticated request fails before any response (the preflight); legacy media answers without a token. */
const dendrite: Route = (request) => {
  if (request.headers.get('Authorization') !== null) throw new TypeError('Failed to fetch');
  return new Response('legacy bytes', { status: 200, headers: { 'Content-Type': 'image/png', 'Content-Length': '12' } });
};

afterEach(() => vi.useRealTimers());

async function signedIn(route: Route, options: SetupOptions = {}) {
  const t = setup({ route, sleep: async () => undefined, ...options });
  await t.sessions.put({ id: 's1', key: KEY, homeserverUrl: HS, accessToken: 'tok' }, 'tab-1');
  return t;
}

describe('a homeserver whose authenticated endpoint fails at the CORS layer', () => {
  it('a legacy URL gets what it gives without a token, from the same origin, and the trace says so', async () => {
    const t = await signedIn(dendrite);
    const response = await t.request(`${HS}/_matrix/media/v3/thumbnail/hs.example/abc?width=32&height=32&method=crop`);
    expect([response.status, await response.text()]).toEqual([200, 'legacy bytes']);
    expect(t.mediaSeen().map((s) => [s.url, s.authorization])).toEqual([
      [`${HS}/_matrix/client/v1/media/thumbnail/hs.example/abc?width=32&height=32&method=crop`, 'Bearer tok'],
      // The probe: the same request fails again, while /versions answers.
      [`${HS}/_matrix/client/v1/media/thumbnail/hs.example/abc?width=32&height=32&method=crop`, 'Bearer tok'],
      [`${HS}/_matrix/media/v3/thumbnail/hs.example/abc?width=32&height=32&method=crop`, null],
    ]);
    expect(t.traces[0]).toMatchObject({ outcome: 'unauthenticated', upstreamUrl: `${HS}/_matrix/media/v3/thumbnail/hs.example/abc?width=32&height=32&method=crop` });
  });

  it('a mediaUrl thumbnail and a v1 URL the app wrote get the legacy URL of the same mxc, with the same parameters', async () => {
    const t = await signedIn(dendrite);
    await t.request('https://app.example/matrix-media-sw/s1/thumbnail/hs.example/abc?width=64&height=48&method=scale');
    await t.request(`${HS}/_matrix/client/v1/media/download/hs.example/def/name.png`);
    expect(t.mediaSeen().filter((s) => s.authorization === null).map((s) => s.url)).toEqual([
      `${HS}/_matrix/media/v3/thumbnail/hs.example/abc?width=64&height=48&method=scale`,
      `${HS}/_matrix/media/v3/download/hs.example/def/name.png`,
    ]);
  });

  it('is remembered: a gallery pays two failed preflights (the first request and its repetition), not one per image', async () => {
    const t = await signedIn(dendrite);
    for (let i = 0; i < 5; i++) expect((await t.request(`${HS}/_matrix/media/v3/download/hs.example/img${i}`)).status).toBe(200);
    expect(t.mediaSeen().filter((s) => s.authorization !== null)).toHaveLength(2);
  });

  it('for a bounded time: a server that answers the preflight later gets the token again', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    let fixed = false;
    const t = await signedIn((request, token) => (fixed ? new Response('v1', { status: 200, headers: { 'Content-Length': '2' } }) : dendrite(request, token)));
    await t.request(`${HS}/_matrix/media/v3/download/hs.example/a`);
    fixed = true;
    vi.setSystemTime(Date.now() + BLOCKED_LIFETIME_MS - 1000);
    await t.request(`${HS}/_matrix/media/v3/download/hs.example/b`);
    expect(t.mediaSeen().at(-1)!.authorization).toBeNull();
    vi.setSystemTime(Date.now() + 2000);
    expect(await (await t.request(`${HS}/_matrix/media/v3/download/hs.example/c`)).text()).toBe('v1');
    expect(t.mediaSeen().at(-1)).toMatchObject({ url: `${HS}/_matrix/client/v1/media/download/hs.example/c`, authorization: 'Bearer tok' });
  });

  it('a server that is simply down is not remembered: the element gets the error, and the next request tries with the token again', async () => {
    let down = true;
    const t = await signedIn(
      () => {
        if (down) throw new TypeError('Failed to fetch');
        return new Response('ok', { status: 200, headers: { 'Content-Length': '2' } });
      },
      // Down is down for every request, /versions included.
      { versionsRoute: () => (down ? Promise.reject(new TypeError('Failed to fetch')) : json(200, { versions: ['v1.11'] })) },
    );
    await expect(t.request(`${HS}/_matrix/media/v3/download/hs.example/a`)).rejects.toThrow(TypeError);
    down = false;
    await t.request(`${HS}/_matrix/media/v3/download/hs.example/b`);
    expect(t.mediaSeen().at(-1)).toMatchObject({ url: `${HS}/_matrix/client/v1/media/download/hs.example/b`, authorization: 'Bearer tok' });
  });

  it('a token the page wrote into a legacy URL is dropped from the fallback', async () => {
    const t = await signedIn(dendrite);
    await t.request(`${HS}/_matrix/media/v3/download/hs.example/a?access_token=tok&allow_redirect=true`);
    expect(t.mediaSeen().at(-1)).toMatchObject({ url: `${HS}/_matrix/media/v3/download/hs.example/a?allow_redirect=true`, authorization: null });
  });
});
