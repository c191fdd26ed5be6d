import type { Page } from '@playwright/test';
import { samplePng } from '../../demo/homeserver/png.js';
import type { Homeserver } from '../../demo/homeserver/server.js';
import { expect, loadImage, mediaRequests, register, stopServiceWorkers, test } from './fixtures.js';

const controlled = (page: Page) => page.evaluate(() => navigator.serviceWorker.controller !== null);

/** Registers, then shows `count` new images by their legacy URLs; returns what the user saw. */
async function registerAndShow(page: Page, homeserver: Homeserver, token: string, count: number) {
  await register(page, { homeserverUrl: homeserver.url, accessToken: token });
  const results = [];
  for (let i = 0; i < count; i++) {
    const mxc = homeserver.addMedia(samplePng(16, 16, i), 'image/png');
    results.push(await loadImage(page, homeserver.url + mxc.replace('mxc://', '/_matrix/media/v3/download/')));
  }
  return results;
}

/** True when every media request the homeserver saw went to v1 with the token. */
function allAuthenticated(homeserver: Homeserver, token: string): boolean {
  const seen = mediaRequests(homeserver);
  return seen.length > 0 && seen.every((r) => r.authorization === `Bearer ${token}` && r.path.startsWith('/_matrix/client/v1/'));
}

test.describe('page lifecycle: the homeserver never receives an unauthenticated media request for media the page shows', () => {
  test('first visit', async ({ appPage: page, homeserver }) => {
    expect(await controlled(page)).toBe(false);
    const token = homeserver.register('alice', 'pw');
    const results = await registerAndShow(page, homeserver, token, 3);
    expect(results.every((r) => r.ok)).toBe(true);
    expect(await controlled(page)).toBe(true);
    expect(allAuthenticated(homeserver, token)).toBe(true);
  });

  test('normal reload', async ({ appPage: page, homeserver }) => {
    const token = homeserver.register('alice', 'pw');
    await registerAndShow(page, homeserver, token, 1);
    await page.reload();
    await page.waitForFunction(() => (window as any).ready === true);
    expect(await controlled(page)).toBe(true);
    const results = await registerAndShow(page, homeserver, token, 3);
    expect(results.every((r) => r.ok)).toBe(true);
    expect(allAuthenticated(homeserver, token)).toBe(true);
  });

  test('hard reload (Shift+Reload leaves the page uncontrolled; the worker claims it)', async ({ appPage: page, homeserver, browserName }) => {
    test.skip(browserName !== 'chromium', 'a hard reload is issued through CDP Page.reload({ignoreCache}), which only Chromium has');
    const token = homeserver.register('alice', 'pw');
    await registerAndShow(page, homeserver, token, 1);
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Page.reload', { ignoreCache: true });
    await page.waitForFunction(() => (window as any).ready === true);
    // Proof that this really was a hard reload: the worker does not control the page.
    expect(await controlled(page)).toBe(false);
    const results = await registerAndShow(page, homeserver, token, 3);
    expect(results.every((r) => r.ok)).toBe(true);
    expect(await controlled(page)).toBe(true);
    expect(allAuthenticated(homeserver, token)).toBe(true);
  });

  test('the worker is stopped by the browser: the next media loads with the token from storage, without asking the page', async ({
    appPage: page,
    homeserver,
    browserName,
  }) => {
    test.skip(browserName !== 'chromium', 'only Chromium lets a test stop a worker (CDP ServiceWorker.stopAllWorkers)');
    const token = homeserver.register('alice', 'pw');
    await registerAndShow(page, homeserver, token, 1);
    // Count the worker's questions to the page from now on.
    await page.evaluate(() => {
      (window as any).asked = 0;
      navigator.serviceWorker.addEventListener('message', () => (window as any).asked++);
    });
    await stopServiceWorkers(page);
    const mxc = homeserver.addMedia(samplePng(12, 12, 9), 'image/png');
    expect((await loadImage(page, homeserver.url + mxc.replace('mxc://', '/_matrix/media/v3/download/'))).ok).toBe(true);
    expect(allAuthenticated(homeserver, token)).toBe(true);
    expect(await page.evaluate(() => (window as any).asked)).toBe(0);
  });
});

test.describe('worker updates', () => {
  test('a new worker version takes over the page, and media keeps loading with the token', async ({ appPage: page, app, homeserver }) => {
    const token = homeserver.register('alice', 'pw');
    await registerAndShow(page, homeserver, token, 1);
    app.workerBuild = 1;
    const taken = page.evaluate(
      () => new Promise<boolean>((resolve) => navigator.serviceWorker.addEventListener('controllerchange', () => resolve(true), { once: true })),
    );
    await page.evaluate(async () => (await navigator.serviceWorker.getRegistration())!.update());
    expect(await taken).toBe(true);
    const mxc = homeserver.addMedia(samplePng(14, 14, 6), 'image/png');
    expect((await loadImage(page, homeserver.url + mxc.replace('mxc://', '/_matrix/media/v3/download/'))).ok).toBe(true);
    expect(allAuthenticated(homeserver, token)).toBe(true);
  });
});

test.describe('sessions', () => {
  test('two tabs signed in as two users each send their own token, also after a worker restart', async ({ context, app, homeserver, browserName }) => {
    const tokens = [homeserver.register('alice', 'pw'), homeserver.register('bob', 'pw')];
    const pages = await Promise.all(tokens.map(() => context.newPage()));
    for (const [i, page] of pages.entries()) {
      await page.goto(`${app.url}/index.html`);
      await page.waitForFunction(() => (window as any).ready === true);
      await register(page, { homeserverUrl: homeserver.url, accessToken: tokens[i] });
    }
    const showNew = async (page: Page, seed: number) => {
      const mxc = homeserver.addMedia(samplePng(10, 10, seed), 'image/png');
      const before = homeserver.log.length;
      expect((await loadImage(page, homeserver.url + mxc.replace('mxc://', '/_matrix/media/v3/download/'))).ok).toBe(true);
      return homeserver.log.slice(before).filter((r) => r.method === 'GET' && r.path.includes('/media/')).map((r) => r.authorization);
    };
    expect(await showNew(pages[0]!, 1)).toEqual([`Bearer ${tokens[0]}`]);
    expect(await showNew(pages[1]!, 2)).toEqual([`Bearer ${tokens[1]}`]);
    if (browserName === 'chromium') {
      await stopServiceWorkers(pages[0]!);
      expect(await showNew(pages[1]!, 3)).toEqual([`Bearer ${tokens[1]}`]);
      expect(await showNew(pages[0]!, 4)).toEqual([`Bearer ${tokens[0]}`]);
    }
  });

  test('after signOut no request carries the token, and the worker\'s storage no longer holds it', async ({ appPage: page, homeserver }) => {
    const token = homeserver.register('alice', 'pw');
    await registerAndShow(page, homeserver, token, 1);
    const stored = () =>
      page.evaluate(
        () =>
          new Promise<string>((resolve, reject) => {
            const open = indexedDB.open('matrix-media-sw');
            open.onerror = () => reject(open.error);
            open.onsuccess = () => {
              const all = open.result.transaction('sessions').objectStore('sessions').getAll();
              all.onsuccess = () => resolve(JSON.stringify(all.result));
            };
          }),
      );
    expect(await stored()).toContain(token);
    await page.evaluate(() => (window as any).handles[0].signOut());
    expect(await stored()).not.toContain(token);

    const before = homeserver.log.length;
    const mxc = homeserver.addMedia(samplePng(10, 10, 5), 'image/png');
    const result = await loadImage(page, homeserver.url + mxc.replace('mxc://', '/_matrix/media/v3/download/'));
    // Signed out: the frozen legacy URL answers 404 and the image stays broken.
    expect(result.ok).toBe(false);
    expect(homeserver.log.slice(before).every((r) => r.authorization === null)).toBe(true);
  });
});

test.describe('mediaUrl: same-origin URLs that navigations and downloads can use', () => {
  test('opened in a new tab, it loads the image with the session\'s token', async ({ appPage: page, context, homeserver }) => {
    const token = homeserver.register('alice', 'pw');
    const mxc = homeserver.addMedia(samplePng(30, 20, 7), 'image/png', 'holiday.png');
    await register(page, { homeserverUrl: homeserver.url, accessToken: token });
    const url = await page.evaluate((m) => (window as any).handles[0].mediaUrl(m, { filename: 'Holiday photo.png' }), mxc);
    expect(new URL(url).origin).toBe(new URL(page.url()).origin);

    const tab = await context.newPage();
    const response = await tab.goto(url);
    expect(response?.status()).toBe(200);
    expect(response?.headers()['content-type']).toBe('image/png');
    expect(response?.headers()['content-disposition']).toBe(`inline; filename="Holiday photo.png"; filename*=UTF-8''Holiday%20photo.png`);
    expect(await tab.evaluate(() => (document.querySelector('img') as HTMLImageElement | null)?.naturalWidth)).toBe(30);
    expect(mediaRequests(homeserver).map((r) => [r.path, r.authorization])).toEqual([
      [`${mxc.replace('mxc://', '/_matrix/client/v1/media/download/')}/Holiday%20photo.png`, `Bearer ${token}`],
    ]);
  });

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
