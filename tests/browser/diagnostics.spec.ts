import { samplePng } from '../../demo/homeserver/png.js';
import { expect, loadImage, register, test } from './fixtures.js';

// onDiagnostic: what the worker did per request, to pages that ask, never with a token.

test('the worker reports each request to a page that asks, and only then, without any token', async ({ appPage: page, context, homeserver }) => {
  const token = homeserver.register('alice', 'pw');
  await register(page, { homeserverUrl: homeserver.url, accessToken: token });
  const workerConsole: string[] = [];
  for (const worker of context.serviceWorkers()) worker.on('console', (message) => workerConsole.push(message.text()));

  const png = samplePng(10, 10);
  const before = homeserver.addMedia(png, 'image/png');
  const legacy = (mxc: string) => `${homeserver.url}/_matrix/media/v3/download/${mxc.slice(6)}`;
  expect((await loadImage(page, legacy(before))).ok).toBe(true);

  await page.evaluate(async () => {
    (window as any).reports = [];
    (window as any).stop = await (window as any).handles[0].onDiagnostic((entry: unknown) => (window as any).reports.push(entry));
  });
  const mxc = homeserver.addMedia(png, 'image/png');
  expect((await loadImage(page, `${legacy(mxc)}?access_token=${token}`)).ok).toBe(true);
  expect((await loadImage(page, `${legacy(`mxc://${homeserver.serverName}/missingmedia`)}`)).ok).toBe(false);
  await expect.poll(() => page.evaluate(() => (window as any).reports.length)).toBe(2);

  const reports = (await page.evaluate(() => (window as any).reports)) as Array<Record<string, unknown>>;
  // Nothing was reported for the image loaded before the page asked.
  expect(reports.map((r) => r.url)).toEqual([legacy(mxc), legacy(`mxc://${homeserver.serverName}/missingmedia`)]);
  expect(reports[0]).toMatchObject({
    upstreamUrl: `${homeserver.url}/_matrix/client/v1/media/download/${mxc.slice(6)}`,
    outcome: 'authenticated',
    status: 200,
    bytes: png.length,
    versionsCached: true,
    error: null,
  });
  expect(reports[0]!.durationMs).toEqual(expect.any(Number));
  expect(reports[1]).toMatchObject({ outcome: 'authenticated', status: 404 });
  expect(JSON.stringify(reports)).not.toContain(token);

  // After stop(), nothing more is reported.
  await page.evaluate(() => (window as any).stop());
  await page.waitForTimeout(200);
  expect((await loadImage(page, legacy(homeserver.addMedia(png, 'image/png')))).ok).toBe(true);
  await page.waitForTimeout(300);
  expect(await page.evaluate(() => (window as any).reports.length)).toBe(2);
  expect(workerConsole.join('\n')).not.toContain(token);
});
