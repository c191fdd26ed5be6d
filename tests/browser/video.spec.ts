import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Page } from '@playwright/test';
import type { Homeserver } from '../../demo/homeserver/server.js';
import { crossOriginScenarios } from '../scenarios/crossorigin.js';
import { expect, mediaRequests, register, test } from './fixtures.js';
import { runScenarios } from './runScenarios.js';

const VIDEO = readFileSync(resolve(import.meta.dirname, '../../demo/media/sample-video.webm'));

/** Plays a <video crossorigin>, seeks to `seconds`, and reports what the user would see. */
async function playAndSeek(page: Page, src: string, seconds: number) {
  return page.evaluate(
    async ({ src, seconds }) => {
      const video = document.createElement('video');
      video.muted = true;
      video.preload = 'auto';
      video.crossOrigin = 'anonymous';
      document.body.append(video);
      const event = (name: string) =>
        new Promise<string>((resolve) => {
          video.addEventListener(name, () => resolve(name), { once: true });
          video.addEventListener('error', () => resolve(`error ${video.error?.code}`), { once: true });
        });
      const metadata = event('loadedmetadata');
      video.src = src;
      const loaded = await metadata;
      if (loaded !== 'loadedmetadata') return { loaded, duration: 0, seeked: '', time: 0, played: false };
      await video.play();
      const seeked = event('seeked');
      video.currentTime = seconds;
      const seekResult = await seeked;
      const before = video.currentTime;
      await new Promise((r) => setTimeout(r, 700));
      return { loaded, duration: video.duration, seeked: seekResult, time: before, played: video.currentTime > before };
    },
    { src, seconds },
  );
}

// Every media element carries crossorigin="anonymous" (see the README); what happens without it
// is shown in every engine by tests/scenarios/crossorigin.ts.
type Form = 'legacy URL' | 'mediaUrl()';

async function videoSrc(page: Page, homeserver: Homeserver, form: Form): Promise<string> {
  const mxc = homeserver.addMedia(VIDEO, 'video/webm', 'clip.webm');
  if (form.startsWith('mediaUrl')) return page.evaluate((m) => (window as any).handles[0].mediaUrl(m), mxc);
  return homeserver.url + mxc.replace('mxc://', '/_matrix/media/v3/download/');
}

runScenarios('media elements and the crossorigin attribute', crossOriginScenarios);

for (const rangeSupport of [true, false]) {
  test.describe(rangeSupport ? 'a homeserver that honours Range' : 'a homeserver that ignores Range, as Synapse does', () => {
    // A slow link (1 MB/s for a 2 MB file), so the seek target is not downloaded yet when asked for.
    test.use({ homeserverOptions: { rangeSupport, mediaBytesPerSecond: 1_000_000 } });

    for (const form of ['legacy URL', 'mediaUrl()'] as const) {
      test(`a <video crossorigin> by ${form} plays and seeks, with ranged requests carrying the token`, async ({ appPage: page, homeserver }) => {
        const token = homeserver.register('alice', 'pw');
        await register(page, { homeserverUrl: homeserver.url, accessToken: token });

        const src = await videoSrc(page, homeserver, form);
        const result = await playAndSeek(page, src, 25);
        expect(result).toMatchObject({ loaded: 'loadedmetadata', seeked: 'seeked', played: true });
        expect(result.duration).toBeCloseTo(30, 0);
        expect(result.time).toBeGreaterThanOrEqual(24.5);

        const seen = mediaRequests(homeserver);
        expect(seen.length).toBeGreaterThan(0);
        expect(seen.every((r) => r.authorization === `Bearer ${token}` && r.path.startsWith('/_matrix/client/v1/media/download/'))).toBe(true);
        if (rangeSupport) {
          // The seek went out as a Range request from a later offset: copying the element's
          // no-cors request would have lost the header.
          const seekRequest = seen.find((r) => r.range !== null && !/^bytes=0-/.test(r.range));
          expect(seekRequest, JSON.stringify(seen.map((r) => [r.range, r.status]))).toBeDefined();
          expect(seekRequest!.status).toBe(206);
        } else {
          // The server sent the whole file for the first range; the worker's one download of it
          // served the seek too (its media store), so nothing more went upstream.
          expect(seen.map((r) => [r.range, r.status]), JSON.stringify(seen)).toEqual([['bytes=0-', 200]]);
        }
      });
    }
  });
}
