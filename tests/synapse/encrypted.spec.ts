import { encryptAttachment } from 'matrix-encrypt-attachment';
import { samplePhoto } from '../../demo/homeserver/samples.js';
import type { EncryptedFile } from '../../src/encryptedFile.js';
import type { AppServer } from '../browser/appServer.js';
import { pageDriver } from '../browser/pageDriver.js';
import { PLAY_AND_SEEK, VIDEO } from '../scenarios/store.js';
import { startSdkApp } from '../scenarios/testApps.js';
import { expect, test, upload, whoami } from './fixtures.js';

// Encrypted attachments against the real Synapse, through matrix-js-sdk as a client uses it: the
// ciphertext uploaded through /upload, m.image and m.video events whose content carries `file`
// (an unencrypted room is fine: the attachment's own encryption is what the worker handles),
// read back with the SDK and shown through encryptedMediaUrl.

let sdkApp: AppServer;

test.beforeAll(async () => {
  test.setTimeout(180_000);
  sdkApp = await startSdkApp();
});
test.afterAll(async () => {
  await sdkApp?.close();
});

async function encryptedUpload(synapse: Parameters<typeof upload>[0], token: string, plain: Buffer, name: string): Promise<EncryptedFile> {
  const { data, info } = await encryptAttachment(plain.buffer.slice(plain.byteOffset, plain.byteOffset + plain.byteLength) as ArrayBuffer);
  const url = await upload(synapse, token, Buffer.from(data), 'application/octet-stream', name);
  return { ...(info as unknown as EncryptedFile), url };
}

test('an encrypted m.image and m.video, sent and read back with matrix-js-sdk, show through encryptedMediaUrl', async ({ page, synapse }) => {
  const token = await synapse.register(`u${Date.now()}`, 'pw');
  const userId = await whoami(synapse, token);
  const photo = await samplePhoto(320, 200, 7, 'jpeg');
  const image = await encryptedUpload(synapse, token, photo, 'photo.jpg');
  const video = await encryptedUpload(synapse, token, VIDEO, 'clip.webm');

  await page.goto(`${sdkApp.url}/index.html`);
  await page.waitForFunction(() => window.ready === true);
  await page.evaluate(([hs, user, access]) => window.start(hs!, user!, access!, ''), [synapse.url, userId, token]);
  const { roomId, imageEvent, videoEvent } = await page.evaluate(
    async ([image, video]) => {
      const { room_id: roomId } = await window.client.createRoom({});
      const imageEvent = await window.sendAttachment(roomId, 'm.image', 'photo.jpg', image as never, 'image/jpeg');
      const videoEvent = await window.sendAttachment(roomId, 'm.video', 'clip.webm', video as never, 'video/webm');
      return { roomId, imageEvent, videoEvent };
    },
    [image, video] as const,
  );

  const imageUrl = await page.evaluate(([r, e]) => window.attachmentUrl(r!, e!), [roomId, imageEvent]);
  expect(imageUrl).toContain('/matrix-media-sw/');
  expect(imageUrl).not.toContain(image.key.k);
  expect(await page.evaluate((u) => window.loadImage(u), imageUrl)).toEqual({ ok: true, width: 320, height: 200 });
  const saved = await page.evaluate(async (u) => {
    const r = await fetch(u);
    return { type: r.headers.get('Content-Type'), disposition: r.headers.get('Content-Disposition'), bytes: (await r.arrayBuffer()).byteLength };
  }, imageUrl);
  expect(saved).toEqual({ type: 'image/jpeg', disposition: `inline; filename="photo.jpg"; filename*=UTF-8''photo.jpg`, bytes: photo.length });

  const videoUrl = await page.evaluate(([r, e]) => window.attachmentUrl(r!, e!), [roomId, videoEvent]);
  expect(await pageDriver(page, 'chromium').run(PLAY_AND_SEEK, { src: videoUrl, at: 0.9 })).toEqual({ loaded: 'loadedmetadata', seeked: 'seeked', at: 27, played: true });
});
