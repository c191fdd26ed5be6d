import { samplePng } from '../../demo/homeserver/png.js';
import { reactAppDir } from '../scenarios/testApps.js';
import { startAppServer, type AppServer } from './appServer.js';
import { expect, mediaRequests, test } from './fixtures.js';
import { resolve } from 'node:path';

// The React + matrix-js-sdk recipe of docs/api.md, pasted into an app as a developer would and
// built in development mode (StrictMode runs its mount effect twice): log in, a reload, sign out.

let app: AppServer | undefined;

test.afterEach(async () => {
  await app?.close();
  app = undefined;
});

test('the React recipe: a reload stays signed in, StrictMode registering twice into one session, and after sign-out no media request carries a token', async ({ page, homeserver }) => {
  test.setTimeout(180_000);
  homeserver.config.mediaCacheControl = 'no-cache';
  homeserver.accounts.register('alice', 'pw');
  const avatar = homeserver.addMedia(samplePng(96, 96, 7), 'image/png');
  app = await startAppServer([await reactAppDir(homeserver.url, avatar), resolve(import.meta.dirname, '../../dist')]);
  const warnings: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'warning') warnings.push(message.text());
  });
  const avatarShown = () => page.locator('img[alt=avatar]').evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth === 96);

  await page.goto(`${app.url}/index.html`);
  await page.fill('input[name=user]', 'alice');
  await page.fill('input[name=password]', 'pw');
  await page.click('text=Sign in');
  await expect.poll(avatarShown, { timeout: 30_000 }).toBe(true);
  const login = homeserver.log.filter((r) => r.path === '/_matrix/client/v3/login' && r.method === 'POST');
  expect(login).toHaveLength(1);
  const media = mediaRequests(homeserver);
  expect(media).toHaveLength(1);
  expect(media[0]!.authorization).toMatch(/^Bearer /);
  const secondCalls = () => warnings.filter((w) => w.includes('registerMediaWorker was called again'));
  // Signing in changes the effect's dependency: it runs once.
  expect(secondCalls(), JSON.stringify(warnings)).toHaveLength(0);

  // A reload mounts the app signed in: StrictMode runs the effect twice, into one session.
  await page.reload();
  await expect.poll(avatarShown, { timeout: 30_000 }).toBe(true);
  expect(secondCalls(), JSON.stringify(warnings)).toHaveLength(1);
  expect(homeserver.log.filter((r) => r.path === '/_matrix/client/v3/login' && r.method === 'POST')).toHaveLength(1);
  expect(mediaRequests(homeserver).at(-1)!.authorization).toBe(media[0]!.authorization);

  await page.click('text=Sign out');
  await expect(page.locator('input[name=user]')).toBeVisible();
  expect(homeserver.log.some((r) => r.path === '/_matrix/client/v3/logout' && r.status === 200)).toBe(true);
  const from = homeserver.log.length;
  await page.evaluate(async (src) => {
    const img = new Image();
    await new Promise((resolve) => {
      img.onload = img.onerror = resolve;
      img.src = src;
    });
  }, `${homeserver.url}/_matrix/media/v3/download/${avatar.slice(6)}`);
  const after = mediaRequests(homeserver).filter((r) => homeserver.log.indexOf(r) >= from);
  expect(after.length).toBeGreaterThan(0);
  expect(after.map((r) => r.authorization)).toEqual(after.map(() => null));
});
