import { samplePng } from '../../demo/homeserver/png.js';
import { expect, loadImage, mediaRequests, register, test } from './fixtures.js';

// No test in this file uses Playwright request routing: while a route is active Playwright
// answers CORS preflights itself, which would hide a homeserver that forgets Authorization in
// Access-Control-Allow-Headers. Here every preflight reaches the real server.

test.describe('media through the worker, against a homeserver on another origin', () => {
  test('legacy v3, r0 and v1 URLs all load with the token on the v1 endpoint', async ({ appPage: page, homeserver }) => {
    const token = homeserver.register('alice', 'pw');
    await register(page, { homeserverUrl: homeserver.url, accessToken: token });

    // Three different files: the browser's HTTP cache would answer a repeated upstream URL.
    const forms = ['/_matrix/media/v3/download/', '/_matrix/media/r0/download/', '/_matrix/client/v1/media/download/'];
    const expected: string[] = [];
    for (const [i, form] of forms.entries()) {
      const mxc = homeserver.addMedia(samplePng(40 + i, 30, i), 'image/png', 'cat.png');
      const path = mxc.replace('mxc://', form);
      expect(await loadImage(page, homeserver.url + path), path).toEqual({ ok: true, width: 40 + i, height: 30 });
      expected.push(mxc.replace('mxc://', '/_matrix/client/v1/media/download/'));
    }

    const seen = mediaRequests(homeserver);
    expect(seen.map((r) => r.path)).toEqual(expected);
    expect(seen.every((r) => r.authorization === `Bearer ${token}` && r.status === 200)).toBe(true);
    // The CORS preflight reached the real server: nothing answered it on the server's behalf.
    expect(homeserver.log.some((r) => r.method === 'OPTIONS' && r.path.includes('/_matrix/client/v1/media/'))).toBe(true);
    // /versions never sees the token.
    expect(homeserver.log.filter((r) => r.path === '/_matrix/client/versions').map((r) => r.authorization)).toEqual([null]);
  });

  test('a thumbnail URL loads through the worker', async ({ appPage: page, homeserver }) => {
    const token = homeserver.register('alice', 'pw');
    const mxc = homeserver.addMedia(samplePng(64, 64, 2), 'image/png');
    const path = mxc.replace('mxc://', '/_matrix/media/v3/thumbnail/') + '?width=32&height=32&method=crop';
    await register(page, { homeserverUrl: homeserver.url, accessToken: token });
    expect((await loadImage(page, homeserver.url + path)).ok).toBe(true);
    expect(mediaRequests(homeserver).map((r) => [r.path, r.authorization])).toEqual([
      [path.replace('/_matrix/media/v3/', '/_matrix/client/v1/media/'), `Bearer ${token}`],
    ]);
  });

  test.describe('a server older than Matrix 1.11', () => {
    test.use({ homeserverOptions: { versions: ['v1.1', 'v1.10'], authenticatedMedia: false, freezeNewMedia: false } });

    test('gets legacy requests with no token, and the media loads', async ({ appPage: page, homeserver }) => {
      const token = homeserver.register('alice', 'pw');
      const mxc = homeserver.addMedia(samplePng(20, 10, 3), 'image/png');
      const path = mxc.replace('mxc://', '/_matrix/media/v3/download/');
      await register(page, { homeserverUrl: homeserver.url, accessToken: token });
      expect(await loadImage(page, homeserver.url + path)).toEqual({ ok: true, width: 20, height: 10 });
      expect(mediaRequests(homeserver).map((r) => [r.path, r.authorization])).toEqual([[path, null]]);
    });
  });

  test('media on a homeserver path prefix other than the registered one carries no token', async ({ appPage: page, homeserver }) => {
    const token = homeserver.register('alice', 'pw');
    const mxc = homeserver.addMedia(samplePng(8, 8, 4), 'image/png');
    await register(page, { homeserverUrl: `${homeserver.url}/prefix`, accessToken: token });
    const result = await loadImage(page, homeserver.url + mxc.replace('mxc://', '/_matrix/media/v3/download/'));
    // The legacy URL of frozen media answers 404: the token was not borrowed to rescue it.
    expect(result.ok).toBe(false);
    expect(homeserver.log.every((r) => r.authorization === null)).toBe(true);
  });
});
