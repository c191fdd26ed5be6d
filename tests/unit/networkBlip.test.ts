import { describe, expect, it } from 'vitest';
import { NETWORK_RETRY_DELAYS_MS } from '../../sw/upstream/retryPolicy.js';
import { HS, json, KEY, setup, type Route, type SetupOptions } from './workerHarness.js';

/**
 * A network blip stays a blip (issue 28). A `TypeError` from fetch says only "no response": the
 * CORS refusal of Dendrite's preflight and a dropped connection look alike. A homeserver that has
 * answered a request carrying the token is never switched to its legacy endpoint by one; a
 * homeserver not yet proven is switched only by the verdict of a deliberate probe.
 */

const ok = (body = 'v1 bytes') => new Response(body, { status: 200, headers: { 'Content-Type': 'image/png', 'Content-Length': String(body.length) } });
const noResponse = () => {
  throw new TypeError('Failed to fetch');
};
/** Synapse with legacy media frozen: authenticated media answers, legacy answers 404. */
const frozenLegacy = (authenticated: Route): Route => (request, token) =>
  /\/_matrix\/media\//.test(request.url) ? json(404, { errcode: 'M_NOT_FOUND', error: 'Not found' }) : authenticated(request, token);

const pauses: number[] = [];
async function signedIn(options: SetupOptions) {
  pauses.length = 0;
  const t = setup({ sleep: async (ms) => void pauses.push(ms), ...options });
  await t.sessions.put({ id: 's1', key: KEY, homeserverUrl: HS, accessToken: 'tok' }, 'tab-1');
  return t;
}
const image = (i: number | string) => `${HS}/_matrix/client/v1/media/thumbnail/hs.example/img${i}?width=96&height=96&method=crop`;
const legacyImage = (i: number | string) => `${HS}/_matrix/media/v3/thumbnail/hs.example/img${i}?width=96&height=96&method=crop`;

describe('a homeserver that has answered the token (proven)', () => {
  it('a request whose connection drops twice is sent again and loads; nothing goes to legacy, and the next 20 images load with the token', async () => {
    let drops = 0;
    const t = await signedIn({ route: frozenLegacy((request) => (request.url.includes('blip') && drops++ < 2 ? noResponse() : ok())) });
    expect((await t.request(image('first'))).status).toBe(200);
    const blip = await t.request(legacyImage('blip'));
    expect([blip.status, await blip.text()]).toEqual([200, 'v1 bytes']);
    const after = await Promise.all(Array.from({ length: 20 }, (_, i) => t.request(i % 2 ? image(i) : legacyImage(i))));
    expect(after.map((r) => r.status)).toEqual(Array(20).fill(200));
    expect(t.mediaSeen().filter((s) => s.authorization === null)).toEqual([]);
    expect(pauses).toEqual(NETWORK_RETRY_DELAYS_MS.slice(0, 2));
  });

  it('a server that stays unreachable: the element gets the error once the bounded retries are spent, never a legacy request, and the next request tries with the token again', async () => {
    let down = false;
    const t = await signedIn({ route: frozenLegacy(() => (down ? noResponse() : ok())) });
    await t.request(image('first'));
    down = true;
    await expect(t.request(image('a'))).rejects.toThrow(TypeError);
    expect(pauses).toEqual([...NETWORK_RETRY_DELAYS_MS]);
    down = false;
    expect((await t.request(image('b'))).status).toBe(200);
    expect(t.mediaSeen().filter((s) => s.url.includes('/img')).map((s) => [s.url.replace(/\?.*/, ''), s.authorization])).toEqual([
      [`${HS}/_matrix/client/v1/media/thumbnail/hs.example/imgfirst`, 'Bearer tok'],
      ...Array(NETWORK_RETRY_DELAYS_MS.length + 1).fill([`${HS}/_matrix/client/v1/media/thumbnail/hs.example/imga`, 'Bearer tok']),
      [`${HS}/_matrix/client/v1/media/thumbnail/hs.example/imgb`, 'Bearer tok'],
    ]);
  });

  it('a recheck-like HEAD is retried the same way: same URL, same token, same method', async () => {
    let drops = 0;
    const t = await signedIn({ route: (request) => (request.method === 'HEAD' && drops++ < 1 ? noResponse() : ok()) });
    await t.request(image('first'));
    expect((await t.request(image('h'), { method: 'HEAD' })).status).toBe(200);
    const heads = t.mediaSeen().filter((s) => s.method === 'HEAD');
    expect(heads.map((s) => [s.url, s.authorization])).toEqual([[image('h'), 'Bearer tok'], [image('h'), 'Bearer tok']]);
  });
});

describe('a homeserver not yet proven', () => {
  it('its first request (the scout) goes at once; the others wait for its verdict, then go with the token', async () => {
    let answer!: () => void;
    const gate = new Promise<void>((resolve) => (answer = resolve));
    const t = await signedIn({ route: async (request) => (request.url.includes('img0') ? (await gate, ok()) : ok()) });
    const gallery = Promise.all(Array.from({ length: 5 }, (_, i) => t.request(image(i))));
    await new Promise((r) => setTimeout(r, 50));
    expect(t.mediaSeen().map((s) => s.url)).toEqual([image(0)]);
    answer();
    expect((await gallery).map((r) => r.status)).toEqual(Array(5).fill(200));
    expect(t.mediaSeen().map((s) => s.authorization)).toEqual(Array(5).fill('Bearer tok'));
  });

  it('a 401 from a homeserver that refuses the token is an answer: it proves the path, and nothing goes to legacy', async () => {
    const t = await signedIn({ route: frozenLegacy(() => json(401, { errcode: 'M_MISSING_TOKEN', error: 'Missing token' })) });
    expect((await t.request(image('a'))).status).toBe(401);
    expect(t.mediaSeen().filter((s) => s.authorization === null)).toEqual([]);
  });

  it('a dropped first request is judged by sending it again at once: it gets through with the token, nothing goes to legacy', async () => {
    let drops = 0;
    const t = await signedIn({ route: frozenLegacy(() => (drops++ < 1 ? noResponse() : ok())) });
    const first = await t.request(legacyImage('x'));
    expect([first.status, await first.text()]).toEqual([200, 'v1 bytes']);
    expect(t.mediaSeen().filter((s) => s.authorization === null)).toEqual([]);
    expect(t.mediaSeen().map((s) => s.url.replace(/\?.*/, ''))).toEqual(Array(2).fill(`${HS}/_matrix/client/v1/media/thumbnail/hs.example/imgx`));
    expect(pauses).toEqual([NETWORK_RETRY_DELAYS_MS[0]]);
  });

  it('nothing answers at all (down, offline): no verdict, no legacy request, the element gets the error', async () => {
    let down = true;
    const t = await signedIn({ route: () => (down ? noResponse() : ok()), versionsRoute: () => (down ? Promise.reject(new TypeError('Failed to fetch')) : json(200, { versions: ['v1.11'] })) });
    await expect(t.request(image('a'))).rejects.toThrow(TypeError);
    expect(t.mediaSeen().filter((s) => s.authorization === null)).toEqual([]);
    down = false;
    expect((await t.request(image('b'))).status).toBe(200);
    expect(t.mediaSeen().at(-1)).toMatchObject({ url: image('b'), authorization: 'Bearer tok' });
  });

  it('24 thumbnails at once on a homeserver that refuses the token at the CORS layer: one verdict, at most 2 failed authenticated requests, all 24 load from legacy', async () => {
    const dendrite: Route = (request) => (request.headers.get('Authorization') !== null ? noResponse() : ok('legacy'));
    const t = await signedIn({ route: dendrite });
    const gallery = await Promise.all(Array.from({ length: 24 }, (_, i) => t.request(legacyImage(i))));
    expect(await Promise.all(gallery.map((r) => r.text()))).toEqual(Array(24).fill('legacy'));
    expect(t.mediaSeen().filter((s) => s.authorization !== null).length).toBeLessThanOrEqual(2);
    expect(t.mediaSeen().filter((s) => s.authorization === null)).toHaveLength(24);
  });

  it('24 thumbnails at once on a homeserver that answers: the first goes at once, the others follow it with the token, no probe', async () => {
    const t = await signedIn({});
    const gallery = await Promise.all(Array.from({ length: 24 }, (_, i) => t.request(image(i))));
    expect(gallery.map((r) => r.status)).toEqual(Array(24).fill(200));
    expect(t.mediaSeen().map((s) => s.authorization)).toEqual(Array(24).fill('Bearer tok'));
    expect(t.mediaSeen()[0]!.url).toBe(image(0));
  });

  it('a blocked verdict the legacy endpoint cannot serve (a frozen 404) is dropped: the next request is judged again', async () => {
    let refused = true;
    const t = await signedIn({ route: frozenLegacy(() => (refused ? noResponse() : ok())) });
    expect((await t.request(image('a'))).status).toBe(404);
    refused = false;
    const next = await t.request(image('b'));
    expect([next.status, await next.text()]).toEqual([200, 'v1 bytes']);
    expect(t.mediaSeen().at(-1)).toMatchObject({ url: image('b'), authorization: 'Bearer tok' });
  });
});
