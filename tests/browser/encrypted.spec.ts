import { samplePng } from '../../demo/homeserver/png.js';
import { encryptedScenarios, markedText, uploadEncrypted } from '../scenarios/encrypted.js';
import { expect, test } from './fixtures.js';
import { runScenarios } from './runScenarios.js';

runScenarios('encrypted attachments, decrypted in the worker', encryptedScenarios);

// The worker stopped with a key in memory only: a reliability scenario (faults.ts), in every
// engine that can stop one.

test.describe('encrypted attachments in blob mode, where service workers are blocked', () => {
  test.use({ homeserverOptions: { rangeSupport: false, mediaCacheControl: 'no-cache' }, serviceWorkers: 'block' });

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
