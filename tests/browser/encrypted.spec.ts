import { samplePng } from '../../demo/homeserver/png.js';
import { encryptedScenarios, markedText, uploadEncrypted } from '../scenarios/encrypted.js';
import { expect, register, stopServiceWorkers, test } from './fixtures.js';
import { runScenarios } from './runScenarios.js';

runScenarios('encrypted attachments, decrypted in the worker', encryptedScenarios);

test.describe('encrypted attachments: what needs one engine\'s tools', () => {
  test.use({ homeserverOptions: { rangeSupport: false, mediaCacheControl: 'no-cache' } });

  test('a worker the browser stopped asks the page for the key again, and shows the image', async ({ appPage: page, homeserver, browserName }) => {
    test.skip(browserName !== 'chromium', 'only Chromium lets a test stop a worker (CDP ServiceWorker.stopAllWorkers)');
    const token = homeserver.register('alice', 'pw');
    await register(page, { homeserverUrl: homeserver.url, accessToken: token });
    const image = await uploadEncrypted(homeserver, samplePng(30, 20, 5));
    const url = await page.evaluate((file) => (window as any).handles[0].encryptedMediaUrl(file, { mimetype: 'image/png' }), image.file);
    expect(await page.evaluate((u) => (window as any).loadImage(u), url)).toEqual({ ok: true, width: 30, height: 20 });
    await page.evaluate(() => {
      (window as any).keyRequests = 0;
      navigator.serviceWorker.addEventListener('message', (event) => {
        if (event.data?.type === 'mms/key-request') (window as any).keyRequests++;
      });
    });
    await stopServiceWorkers(page);
    // A fresh element, so that the browser's memory cache does not answer for the worker.
    expect(await page.evaluate((u) => (window as any).loadImage(`${u}?again`), url)).toEqual({ ok: true, width: 30, height: 20 });
    expect(await page.evaluate((u) => fetch(u).then((r) => r.status), url)).toBe(200);
    expect(await page.evaluate(() => (window as any).keyRequests)).toBe(1);
  });

  test.describe('blob mode, where service workers are blocked', () => {
    test.use({ serviceWorkers: 'block' });

    test('loadMedia fetches, verifies and decrypts in the page; a tampered file is refused', async ({ appPage: page, homeserver }) => {
      const token = homeserver.register('alice', 'pw');
      const image = await uploadEncrypted(homeserver, samplePng(26, 14, 6));
      const text = markedText();
      const bad = await uploadEncrypted(homeserver, text.plain, true);
      const result = await page.evaluate(
        async ({ hs, token, image, bad }) => {
          const media = await (window as any).mms.registerMediaWorker({ homeserverUrl: hs, accessToken: token, fallback: 'blob' });
          const url = await media.loadMedia(image, { mimetype: 'image/png' });
          let urlCode = null;
          try {
            media.encryptedMediaUrl(image);
          } catch (error) {
            urlCode = (error as { code: string }).code;
          }
          const refused = await media.loadMedia(bad, { mimetype: 'text/plain' }).then(
            () => null,
            (error: { code: string; message: string }) => ({ code: error.code, message: error.message }),
          );
          return { mode: media.mode, blob: url.startsWith('blob:'), shown: await (window as any).loadImage(url), urlCode, refused };
        },
        { hs: homeserver.url, token, image: image.file, bad: bad.file },
      );
      expect(result).toMatchObject({ mode: 'blob', blob: true, shown: { ok: true, width: 26, height: 14 }, urlCode: 'unsupported', refused: { code: 'load-failed' } });
      expect(result.refused!.message).not.toContain(text.marker);
    });
  });
});
