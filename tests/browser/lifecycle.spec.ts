import { samplePng } from '../../demo/homeserver/png.js';
import { expect, loadImage, mediaRequests, register, test } from './fixtures.js';

// First visit, reloads, a stopped worker, a worker update, two users in two tabs, sign-out and
// a mediaUrl opened in a new tab are reliability scenarios (tests/scenarios/reliability/), run in
// every engine.

test.describe('mediaUrl: same-origin URLs that navigations and downloads can use', () => {
  test('a thumbnail and an attachment type carry the headers that keep the app origin safe', async ({ appPage: page, homeserver }) => {
    const token = homeserver.register('alice', 'pw');
    const png = homeserver.addMedia(samplePng(64, 64, 8), 'image/png');
    const svg = homeserver.addMedia(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"><script>parent.pwned=1</script></svg>'), 'image/svg+xml', 'x.svg');
    await register(page, { homeserverUrl: homeserver.url, accessToken: token });
    const thumb = await page.evaluate((m) => (window as any).handles[0].mediaUrl(m, { width: 32, height: 32, method: 'crop' }), png);
    expect(await loadImage(page, thumb)).toMatchObject({ ok: true });
    const headers = await page.evaluate(async (m) => {
      const res = await fetch((window as any).handles[0].mediaUrl(m));
      return { status: res.status, ...Object.fromEntries(res.headers) };
    }, svg);
    expect(headers).toMatchObject({
      status: 200,
      'content-disposition': expect.stringMatching(/^attachment/),
      'x-content-type-options': 'nosniff',
      'content-security-policy': expect.stringMatching(/^sandbox;/),
    });
  });

  test('an invalid mxc URI is refused with a typed error, never turned into a URL', async ({ appPage: page, homeserver }) => {
    const token = homeserver.register('alice', 'pw');
    await register(page, { homeserverUrl: homeserver.url, accessToken: token });
    const code = await page.evaluate(() => {
      try {
        (window as any).handles[0].mediaUrl('mxc://evil.example/../../_matrix/client/v3/account/whoami');
        return 'no error';
      } catch (error) {
        return (error as { code?: string }).code;
      }
    });
    expect(code).toBe('invalid-mxc');
  });
});

test.describe('registration errors', () => {
  test('a script that is not there rejects with registration-failed', async ({ appPage: page, homeserver }) => {
    const result = await page.evaluate((hs) => (window as any).register({ homeserverUrl: hs, accessToken: 't', scriptUrl: '/missing.js' }), homeserver.url);
    expect(result).toMatchObject({ ok: false, name: 'MediaSwError', code: 'registration-failed' });
  });

  test('a homeserver URL that is not a base URL rejects with invalid-options', async ({ appPage: page, homeserver }) => {
    const result = await page.evaluate((hs) => (window as any).register({ homeserverUrl: `${hs}/_matrix/client`, accessToken: 't' }), homeserver.url);
    expect(result).toMatchObject({ ok: false, code: 'invalid-options' });
  });
});

test.describe('where service workers cannot run', () => {
  test.use({ serviceWorkers: 'block' });

  test('registration rejects with a typed, explained error', async ({ appPage: page, homeserver }) => {
    const result = await page.evaluate((hs) => (window as any).register({ homeserverUrl: hs, accessToken: 't' }), homeserver.url);
    expect(result, JSON.stringify(result)).toMatchObject({ ok: false, name: 'MediaSwError' });
    expect(['unsupported', 'registration-failed']).toContain(result.code);
    expect(result.message).not.toContain('undefined');
  });
});

test.describe('the blob fallback, where service workers are blocked', () => {
  test.use({ serviceWorkers: 'block' });

  test('fallback: "blob" resolves in blob mode, and loadMedia shows media fetched with the token', async ({ appPage: page, homeserver }) => {
    const token = homeserver.register('alice', 'pw');
    const mxc = homeserver.addMedia(samplePng(18, 12), 'image/png');
    const result = await page.evaluate(
      async ({ hs, token, mxc }) => {
        const handle = await (window as any).mms.registerMediaWorker({ homeserverUrl: hs, accessToken: token, fallback: 'blob', blobCacheBytes: 4000 });
        const url = await handle.loadMedia(mxc);
        const image = await (window as any).loadImage(url);
        const again = await handle.loadMedia(mxc);
        let mediaUrlCode = null;
        try {
          handle.mediaUrl(mxc);
        } catch (error) {
          mediaUrlCode = (error as { code: string }).code;
        }
        return { mode: handle.mode, reason: handle.fallbackReason, blob: url.startsWith('blob:'), cached: again === url, image, mediaUrlCode };
      },
      { hs: homeserver.url, token, mxc },
    );
    expect(result).toMatchObject({ mode: 'blob', blob: true, cached: true, image: { ok: true, width: 18, height: 12 }, mediaUrlCode: 'unsupported' });
    expect(result.reason).toBeTruthy();
    expect(mediaRequests(homeserver).map((r) => [r.path.split('/localhost/')[0], r.authorization])).toEqual([
      ['/_matrix/client/v1/media/download', `Bearer ${token}`],
    ]);
  });

  test('blob mode keeps memory bounded: past the cap the least recently used blob URLs are revoked', async ({ appPage: page, homeserver }) => {
    const token = homeserver.register('alice', 'pw');
    const mxcs = [1, 2, 3, 4].map((seed) => homeserver.addMedia(samplePng(40, 40, seed), 'image/png'));
    const size = samplePng(40, 40, 1).length;
    const result = await page.evaluate(
      async ({ hs, token, mxcs, cap }) => {
        const handle = await (window as any).mms.registerMediaWorker({ homeserverUrl: hs, accessToken: token, fallback: 'blob', blobCacheBytes: cap });
        const urls: string[] = [];
        for (const mxc of mxcs) urls.push(await handle.loadMedia(mxc));
        const alive = await Promise.all(urls.map(async (u) => (await fetch(u).then((r) => r.ok).catch(() => false)) as boolean));
        return alive;
      },
      { hs: homeserver.url, token, mxcs, cap: size * 2 + 10 },
    );
    // Room for two: the first two were revoked when the last two came.
    expect(result).toEqual([false, false, true, true]);
  });

  test('without fallback, registration still rejects with a typed error', async ({ appPage: page, homeserver }) => {
    const result = await page.evaluate((hs) => (window as any).register({ homeserverUrl: hs, accessToken: 't' }), homeserver.url);
    expect(result).toMatchObject({ ok: false, code: 'unsupported' });
  });
});

test.describe('the blob fallback on an insecure origin', () => {
  test('a page on plain http (not localhost) gets blob mode, and media still loads with the token', async ({ browser, browserName, app, homeserver }) => {
    test.skip(browserName !== 'chromium', 'an insecure origin on loopback needs Chromium\'s --host-resolver-rules to give 127.0.0.1 another name');
    const insecureBrowser = await browser.browserType().launch({
      executablePath: '/usr/bin/chromium',
      args: ['--host-resolver-rules=MAP insecure.test localhost'],
    });
    try {
      const page = await insecureBrowser.newPage();
      await page.goto(`${app.url.replace('localhost', 'insecure.test')}/index.html`);
      await page.waitForFunction(() => (window as any).ready === true);
      const token = homeserver.register('alice', 'pw');
      const mxc = homeserver.addMedia(samplePng(9, 7), 'image/png');
      const result = await page.evaluate(
        async ({ hs, token, mxc }) => {
          const handle = await (window as any).mms.registerMediaWorker({ homeserverUrl: hs, accessToken: token, fallback: 'blob' });
          return { secure: window.isSecureContext, mode: handle.mode, image: await (window as any).loadImage(await handle.loadMedia(mxc)) };
        },
        { hs: homeserver.url, token, mxc },
      );
      expect(result).toEqual({ secure: false, mode: 'blob', image: { ok: true, width: 9, height: 7 } });
    } finally {
      await insecureBrowser.close();
    }
  });
});
