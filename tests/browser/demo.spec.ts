import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { expect, test, type Page } from '@playwright/test';

// The demo as a newcomer meets it: `npm run demo`, sign in with the prefilled account, and every
// kind of media shows up through the worker. Ports other than the defaults, so that a demo left
// running on this machine does not get in the way.

const ROOT = resolve(import.meta.dirname, '../..');
const HOMESERVER_PORT = 18008;
const PAGE_PORT = 15173;
const HOMESERVER = `http://127.0.0.1:${HOMESERVER_PORT}`;

let demo: ChildProcess;

test.beforeAll(async () => {
  demo = spawn('npm', ['run', 'demo'], {
    cwd: ROOT,
    env: { ...process.env, MMS_HOMESERVER_PORT: String(HOMESERVER_PORT), MMS_DEMO_PORT: String(PAGE_PORT) },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  await new Promise<void>((resolveStarted, reject) => {
    const timer = setTimeout(() => reject(new Error(`the demo did not start within 60 s:\n${output}`)), 60_000);
    const read = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes(`http://localhost:${PAGE_PORT}/`)) {
        clearTimeout(timer);
        resolveStarted();
      }
    };
    demo.stdout!.on('data', read);
    demo.stderr!.on('data', read);
    demo.on('exit', (code) => reject(new Error(`the demo exited with ${code}:\n${output}`)));
  });
});

test.afterAll(() => {
  if (demo.pid) process.kill(-demo.pid, 'SIGTERM');
});

async function serverLog(): Promise<Array<{ method: string; path: string; authorization: string | null; status: number }>> {
  return ((await (await fetch(`${HOMESERVER}/_test/log`)).json()) as { log: [] }).log;
}

/** Waits until there are images in `selector` and every one has loaded and decoded (naturalWidth > 0). */
async function allDecoded(page: Page, selector: string): Promise<void> {
  await expect
    .poll(
      () =>
        page.evaluate((s) => {
          const images = [...document.querySelectorAll<HTMLImageElement>(s)];
          return images.length > 0 && images.every((i) => i.complete && i.naturalWidth > 0);
        }, selector),
      { timeout: 20_000 },
    )
    .toBe(true);
}

test('the demo signs in and shows every kind of media through the worker', async ({ page, context }, testInfo) => {
  test.setTimeout(120_000);
  await page.goto(`http://localhost:${PAGE_PORT}/`);
  await page.fill('input[name=homeserver]', HOMESERVER);
  await page.click('button[type=submit]');
  await expect(page.locator('#state-controlling')).toHaveText('yes');
  await expect(page.locator('#state-session')).toContainText('held by the worker');

  await expect(page.locator('#gallery img')).toHaveCount(7);
  await allDecoded(page, '#gallery img, #avatars img, #full-image');

  const video = await page.evaluate(async () => {
    const v = document.querySelector<HTMLVideoElement>('#video')!;
    if (v.readyState < 1) {
      await new Promise((resolve, reject) => {
        v.addEventListener('loadedmetadata', resolve, { once: true });
        v.addEventListener('error', () => reject(new Error(`the video failed: ${v.error?.message}`)), { once: true });
      });
    }
    await v.play();
    const seeked = new Promise((r) => v.addEventListener('seeked', r, { once: true }));
    v.currentTime = 20;
    await seeked;
    const at = v.currentTime;
    await new Promise((r) => setTimeout(r, 600));
    return { duration: v.duration, at, advancing: v.currentTime > at };
  });
  expect(video.duration).toBeGreaterThan(29);
  expect(video.at).toBeGreaterThanOrEqual(19.5);
  expect(video.advancing).toBe(true);
  // The demo's homeserver ignores Range: the worker downloads the video once, and says how far.
  await expect(page.locator('#video-progress-text')).toContainText('downloaded once and kept by the worker', { timeout: 15_000 });
  expect(await page.locator('#video-progress').evaluate((bar: HTMLProgressElement) => bar.value === bar.max && bar.max > 1_000_000)).toBe(true);
  // The same video from an encrypted room: the worker verifies and decrypts it; it plays and seeks.
  const encrypted = await page.evaluate(async () => {
    const v = document.querySelector<HTMLVideoElement>('#encrypted-video')!;
    if (v.readyState < 1) {
      await new Promise((resolve, reject) => {
        v.addEventListener('loadedmetadata', resolve, { once: true });
        v.addEventListener('error', () => reject(new Error(`the encrypted video failed: ${v.error?.message}`)), { once: true });
      });
    }
    const seeked = new Promise((r) => v.addEventListener('seeked', r, { once: true }));
    v.currentTime = 20;
    await seeked;
    return { duration: v.duration, at: v.currentTime, src: v.src };
  });
  expect(encrypted.duration).toBeGreaterThan(29);
  expect(encrypted.at).toBeGreaterThanOrEqual(19.5);
  expect(encrypted.src).toContain('/matrix-media-sw/');
  await expect(page.locator('#encrypted-video-progress-text')).toContainText('downloaded once and kept by the worker', { timeout: 15_000 });

  // The store's usage sits next to the progress bars: both videos (1.97 MB each, the second as
  // ciphertext), stored whole; "Clear stored media" empties it.
  await expect(page.locator('#store-usage')).toHaveText(/^2 files, 3\.9 MB of \d+\.\d MB$/, { timeout: 15_000 });
  // A range of the stored video, asked as a player asks: the table says nothing went upstream.
  await page.evaluate(async () => {
    const src = document.querySelector<HTMLVideoElement>('#video')!.src;
    await (await fetch(src, { headers: { Range: 'bytes=0-99' } })).arrayBuffer();
  });
  const row = page.locator('#requests tbody tr', { hasText: 'nothing: from the store' }).first();
  await expect(row.locator('td').nth(1)).toHaveText('nothing: from the store');
  await expect(row.locator('td').nth(2)).toHaveText('from the store');
  await page.click('#clear-store');
  await expect(page.locator('#store-usage')).toHaveText(/^0 files, 0\.0 MB of /);
  await expect(page.locator('#message')).toContainText('deleted every stored file');
  await expect(page.locator('#requests tbody')).toContainText('from the network');

  // A file link opened in a new tab goes through the worker, as the user's click would.
  const [tab] = await Promise.all([context.waitForEvent('page'), page.locator('#files li', { hasText: 'mountains.jpg' }).getByText('open in a new tab').click()]);
  await tab.waitForLoadState();
  expect(await tab.evaluate(() => document.querySelector('img')?.naturalWidth)).toBe(1600);
  await tab.close();
  // Both copies of the sample video (one plain, one from the "encrypted room") download as the
  // very file, under its name: a plain link to an attachment URL goes through the worker.
  const original = await readFile(resolve(ROOT, 'demo/media/sample-video.webm'));
  const entries = page.locator('#files li', { hasText: 'sample-video.webm' });
  expect(await entries.count()).toBe(2);
  for (const entry of await entries.all()) {
    const [download] = await Promise.all([page.waitForEvent('download'), entry.getByText('download', { exact: true }).click()]);
    // Firefox numbers the second one ("sample-video(1).webm"): the first is already saved.
    expect(download.suggestedFilename()).toMatch(/^sample-video(\(1\))?\.webm$/);
    expect((await readFile(await download.path())).equals(original)).toBe(true);
  }

  // The worker reports what it did; no report carries the token.
  await expect(page.locator('#requests tbody tr').first()).toBeVisible();
  const media = (await serverLog()).filter((r) => r.path.includes('/media/') && r.method === 'GET');
  expect(media.length).toBeGreaterThan(10);
  const tokens = new Set(media.map((r) => r.authorization));
  expect([...tokens].every((t) => t?.startsWith('Bearer '))).toBe(true);
  expect(await page.locator('#requests').textContent()).not.toMatch(/mmstest_/);
  // The homeserver's log names tokens by fingerprint only.
  expect(JSON.stringify(await serverLog())).not.toMatch(/mmstest_/);

  await page.screenshot({ path: testInfo.outputPath('demo.png'), fullPage: true });
  await testInfo.attach('demo', { path: testInfo.outputPath('demo.png'), contentType: 'image/png' });
});

test('the lifecycle buttons: rotate, expire (refresh through the page), sign out', async ({ page }) => {
  test.setTimeout(120_000);
  await page.goto(`http://localhost:${PAGE_PORT}/`);
  await page.fill('input[name=homeserver]', HOMESERVER);
  await page.click('button[type=submit]');
  await allDecoded(page, '#gallery img');

  /** Reloads the media and returns the gallery requests the homeserver got for it, once all are answered. */
  const reloadMedia = async () => {
    const from = (await serverLog()).length;
    await page.click('#reload-media');
    const gallery = async () => (await serverLog()).slice(from).filter((r) => r.method === 'GET' && r.path.includes('demo_reload') && r.path.includes('/thumbnail/'));
    await expect.poll(async () => (await gallery()).filter((r) => r.status === 200).length, { timeout: 20_000 }).toBeGreaterThanOrEqual(7);
    await allDecoded(page, '#gallery img');
    return gallery();
  };
  const firstToken = (await serverLog()).find((r) => r.method === 'GET' && r.path.includes('/thumbnail/'))!.authorization;

  await page.click('#rotate');
  await expect(page.locator('#message')).toContainText('new access token');
  const rotated = await reloadMedia();
  expect(rotated.every((r) => r.authorization?.startsWith('Bearer ') && r.authorization !== firstToken)).toBe(true);

  const refreshesBefore = (await serverLog()).filter((r) => r.method === 'POST' && r.path === '/_matrix/client/v3/refresh').length;
  await page.click('#expire');
  await expect(page.locator('#message')).toContainText('rejects the token');
  const afterExpiry = await reloadMedia();
  // The first tries were refused with 401 M_UNKNOWN_TOKEN, then retried with the new token...
  expect(afterExpiry.some((r) => r.status === 401)).toBe(true);
  // ...and however many images failed at once, the page was asked for one new token.
  const refreshes = (await serverLog()).filter((r) => r.method === 'POST' && r.path === '/_matrix/client/v3/refresh').length - refreshesBefore;
  expect(refreshes).toBe(1);

  await page.click('#sign-out');
  await expect(page.locator('#message')).toContainText('Signed out');
  await expect(page.locator('#state-session')).toHaveText('none');
  await expect
    .poll(() => page.evaluate(() => [...document.querySelectorAll<HTMLImageElement>('#gallery img')].map((i) => i.complete && i.naturalWidth === 0)))
    .not.toContain(false);
});
