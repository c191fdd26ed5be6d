import { samplePng } from '../../demo/homeserver/png.js';
import { expect, legacy, loadImage, recordReports, register, reports, test } from './fixtures.js';

// Token containment: the token goes to the registered homeserver's authenticated endpoints and
// nowhere else. Besides each test's own checks, the audit fixture fails any test in which a
// server saw a token where none belongs.

test.describe('token containment', () => {
  test('media paths on another origin, another port, a look-alike host or outside the path prefix carry no token', async ({
    appPage: page,
    homeserver,
    attacker,
  }) => {
    const token = homeserver.register('alice', 'pw');
    await register(page, { homeserverUrl: `${homeserver.url}/prefix`, accessToken: token });
    await recordReports(page);
    const port = new URL(homeserver.url).port;
    const attackerPort = new URL(attacker.url).port;
    const mxc = attacker.addMedia(samplePng(8, 8), 'image/png');
    const path = `/_matrix/media/v3/download/${mxc.slice(6)}`;
    const urls = [
      `http://localhost:${attackerPort}/prefix${path}`, // another origin
      `http://127.0.0.1:${attackerPort}/prefix${path}`, // the homeserver's host, another port
      `http://127.0.0.1.evil.localhost:${port}/prefix${path}`, // a look-alike host (resolves to loopback)
      `http://127.0.0.1:${port}${path}`, // the homeserver, outside its path prefix
      `http://127.0.0.1:${port}/prefix2${path}`, // a prefix that merely starts the same
      `http://127.0.0.1:${port}/prefix/x${path}`, // below the prefix, not at it
    ];
    for (const url of urls) await loadImage(page, url);
    // The worker's own account of each: passed through untouched, never authenticated.
    await expect.poll(async () => (await reports(page)).length).toBe(urls.length);
    expect((await reports(page)).map((r) => r.outcome)).toEqual(Array(urls.length).fill('passed-through'));
    expect(attacker.log.filter((r) => r.method === 'GET').length).toBeGreaterThanOrEqual(2);
    expect([...attacker.log, ...homeserver.log].every((r) => r.authorization === null)).toBe(true);
  });

  for (const status of [307, 308] as const) {
    test(`a ${status} redirect to another origin: the second hop has no Authorization`, async ({ appPage: page, homeserver }) => {
      homeserver.config.redirect = { status, to: 'cdn' };
      const token = homeserver.register('alice', 'pw');
      const mxc = homeserver.addMedia(samplePng(12, 9), 'image/png');
      await register(page, { homeserverUrl: homeserver.url, accessToken: token });
      expect(await loadImage(page, legacy(homeserver, mxc))).toEqual({ ok: true, width: 12, height: 9 });
      const hops = homeserver.log.filter((r) => r.method === 'GET' && (r.origin === 'cdn' || r.path.includes('/media/')));
      expect(hops.map((r) => [r.origin, r.status, r.authorization === null ? 'no token' : 'token'])).toEqual([
        ['homeserver', status, 'token'],
        ['cdn', 200, 'no token'],
      ]);
    });
  }

  test('a same-origin 307 keeps the token, as the Fetch standard says', async ({ appPage: page, homeserver }) => {
    homeserver.config.redirect = { status: 307, to: 'same-origin' };
    const token = homeserver.register('alice', 'pw');
    const mxc = homeserver.addMedia(samplePng(5, 5), 'image/png');
    await register(page, { homeserverUrl: homeserver.url, accessToken: token });
    expect((await loadImage(page, legacy(homeserver, mxc))).ok).toBe(true);
    const redirected = homeserver.log.find((r) => r.method === 'GET' && r.path.startsWith('/_test/redirected/'));
    expect(redirected?.authorization).toBe(`Bearer ${token}`);
  });

  test('/versions and the legacy endpoints never see the token, even on a server older than Matrix 1.11', async ({ appPage: page, homeserver }) => {
    Object.assign(homeserver.config, { versions: ['v1.9'], authenticatedMedia: false, freezeNewMedia: false });
    const token = homeserver.register('alice', 'pw');
    const mxc = homeserver.addMedia(samplePng(7, 7), 'image/png');
    await register(page, { homeserverUrl: homeserver.url, accessToken: token });
    expect((await loadImage(page, `${legacy(homeserver, mxc)}?access_token=${token}`)).ok).toBe(true);
    // The page wrote the token into the URL; the worker drops it rather than hand it to an
    // unauthenticated endpoint.
    const seen = homeserver.log.filter((r) => r.method === 'GET');
    expect(seen.map((r) => r.path)).toEqual(['/_matrix/client/versions', `/_matrix/media/v3/download/${mxc.slice(6)}`]);
    expect(seen.every((r) => r.authorization === null)).toBe(true);
  });

  test('messages from a tab that did not register, or of the wrong shape, change nothing', async ({ appPage: page, context, app, homeserver }) => {
    const token = homeserver.register('alice', 'pw');
    const { sessionId } = await register(page, { homeserverUrl: homeserver.url, accessToken: token });
    const intruder = await context.newPage();
    await intruder.goto(`${app.url}/index.html`);
    await intruder.waitForFunction(() => (window as any).ready === true && navigator.serviceWorker.controller !== null);
    const answers = await intruder.evaluate(
      async ({ sessionId, homeserverUrl }) => {
        const ask = (message: unknown) =>
          new Promise((resolve) => {
            const channel = new MessageChannel();
            channel.port1.onmessage = (event) => resolve(event.data);
            setTimeout(() => resolve('no answer'), 1000);
            navigator.serviceWorker.controller!.postMessage(message, [channel.port2]);
          });
        return [
          await ask({ type: 'mms/session', session: { id: sessionId, key: 'f'.repeat(32), homeserverUrl, accessToken: 'stolen' } }),
          await ask({ type: 'mms/sign-out', sessionId, key: 'f'.repeat(32) }),
          await ask({ type: 'mms/session', session: { id: sessionId, homeserverUrl, accessToken: 'no key' } }),
          await ask('mms/claim'),
          await ask({ type: 'SKIP_WAITING' }),
          await ask(null),
        ];
      },
      { sessionId, homeserverUrl: homeserver.url },
    );
    expect(answers).toEqual([
      { type: 'mms/error', code: 'bad-message', message: 'That session id belongs to another tab.' },
      { type: 'mms/ack', version: expect.any(String) },
      'no answer',
      'no answer',
      'no answer',
      'no answer',
    ]);
    // The registered tab's media still goes out with its own token; the intruder's with none.
    const mine = homeserver.addMedia(samplePng(6, 6, 1), 'image/png');
    expect((await loadImage(page, legacy(homeserver, mine))).ok).toBe(true);
    const theirs = homeserver.addMedia(samplePng(6, 6, 2), 'image/png');
    expect((await intruder.evaluate((u) => (window as any).loadImage(u), legacy(homeserver, theirs))).ok).toBe(false);
    const gets = homeserver.log.filter((r) => r.method === 'GET' && r.path.includes('/media/'));
    expect(gets.map((r) => r.authorization)).toEqual([`Bearer ${token}`, null]);
  });

  test("a mediaUrl opened as a navigation loads with its session's token", async ({ appPage: page, context, homeserver }) => {
    const token = homeserver.register('alice', 'pw');
    await register(page, { homeserverUrl: homeserver.url, accessToken: token });
    const mxc = homeserver.addMedia(samplePng(31, 17), 'image/png', 'pic.png');
    const url = await page.evaluate((m) => (window as any).handles[0].mediaUrl(m, { filename: 'pic.png' }), mxc);
    const tab = await context.newPage();
    expect((await tab.goto(url))?.status()).toBe(200);
    expect(await tab.evaluate(() => document.querySelector('img')?.naturalWidth)).toBe(31);
    expect(homeserver.log.filter((r) => r.method === 'GET' && r.path.includes('/media/')).map((r) => r.authorization)).toEqual([`Bearer ${token}`]);
  });

  test('after signOut no request carries the old token, and the worker\'s storage no longer holds it', async ({ appPage: page, homeserver }) => {
    const token = homeserver.register('alice', 'pw');
    await register(page, { homeserverUrl: homeserver.url, accessToken: token });
    const before = homeserver.addMedia(samplePng(6, 6, 3), 'image/png');
    expect((await loadImage(page, legacy(homeserver, before))).ok).toBe(true);
    await page.evaluate(() => (window as any).handles[0].signOut());
    const stored = await page.evaluate(
      () =>
        new Promise<string>((resolve) => {
          const open = indexedDB.open('matrix-media-sw');
          open.onsuccess = () => {
            const all = open.result.transaction('sessions').objectStore('sessions').getAll();
            all.onsuccess = () => resolve(JSON.stringify(all.result));
          };
        }),
    );
    expect(stored).not.toContain(token);
    const from = homeserver.log.length;
    for (const seed of [4, 5, 6]) await loadImage(page, legacy(homeserver, homeserver.addMedia(samplePng(6, 6, seed), 'image/png')));
    await loadImage(page, legacy(homeserver, before).replace('/_matrix/media/v3/', '/_matrix/client/v1/media/'));
    expect(homeserver.log.slice(from).every((r) => r.authorization === null)).toBe(true);
  });
});
