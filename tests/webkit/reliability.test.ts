import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { samplePng } from '../../demo/homeserver/png.js';
import { startHomeserver, type Homeserver } from '../../demo/homeserver/server.js';
import { startAppServer, type AppServer } from '../browser/appServer.js';
import { leakIn } from '../reliability/leaks.js';
import { startWebKitDriver, webkitDriver, type WebKitDriver, type WebKitSession } from './webdriver.js';

// The reliability suite's core scenarios in WebKit (WebKitGTK's MiniBrowser over W3C
// WebDriver), against the same test page, homeserver and leak audit as the Playwright engines.

const ROOT = resolve(import.meta.dirname, '../..');
const METRICS_DIR = resolve(ROOT, 'test-results/reliability');
const VIDEO = readFileSync(resolve(ROOT, 'demo/media/sample-video.webm'));

let driver: WebKitDriver;
let app: AppServer;
let homeserver: Homeserver;
let attacker: Homeserver;
let session: WebKitSession;

beforeAll(async () => {
  app = await startAppServer([resolve(ROOT, 'tests/browser/pages'), resolve(ROOT, 'dist')]);
  driver = await startWebKitDriver();
});
afterAll(async () => {
  await driver?.stop();
  await app?.close();
});

beforeEach(async () => {
  homeserver = await startHomeserver();
  attacker = await startHomeserver({ serverName: 'evil.example' });
  session = await driver.newSession();
  await session.navigate(`${app.url}/index.html`);
  await page('while (!window.ready) await new Promise((r) => setTimeout(r, 20));');
});

afterEach(async (context) => {
  await session.close();
  const leaks = [...homeserver.log.map((e) => leakIn(e, 'homeserver')), ...attacker.log.map((e) => leakIn(e, 'attacker'))].filter(Boolean);
  mkdirSync(METRICS_DIR, { recursive: true });
  const title = context.task.name;
  writeFileSync(
    resolve(METRICS_DIR, `webkit--${title.replace(/[^a-z0-9]+/gi, '-')}.json`),
    JSON.stringify({
      engine: 'webkit',
      title: `${context.task.suite?.name ?? ''} › ${title}`,
      requests: homeserver.log.length + attacker.log.length,
      leaks: leaks.length,
      faults: 0,
      // afterEach runs before the result is final: a thrown assertion already marks it failed.
      status: context.task.result?.state === 'fail' || leaks.length > 0 ? 'failed' : 'passed',
      skipReason: null,
      notes: [],
    }),
  );
  await homeserver.close();
  await attacker.close();
  expect(leaks, 'token leaks').toEqual([]);
});

/** Runs `body` (an async function body) in the page with `args` as `args`; returns its result. */
const page = <T = unknown>(body: string, args: unknown = null): Promise<T> => webkitDriver(session).run<T>(body, args);

async function register(token: string, homeserverUrl = homeserver.url): Promise<{ ok: boolean; sessionId: string }> {
  const result = await page<{ ok: boolean; sessionId: string }>('return window.register({ homeserverUrl: args.hs, accessToken: args.token });', {
    hs: homeserverUrl,
    token,
  });
  expect(result).toMatchObject({ ok: true });
  return result;
}

const loadImage = (url: string) => page<{ ok: boolean; width: number; height: number }>('return window.loadImage(args);', url);
const legacy = (hs: Homeserver, mxc: string) => `${hs.url}/_matrix/media/v3/download/${mxc.slice(6)}`;
const mediaGets = () => homeserver.log.filter((r) => r.method === 'GET' && r.path.includes('/media/'));

// Titles match the Playwright scenarios they correspond to, so the report puts them in one row.
describe('lifecycle', () => {
  it('a first visit', async () => {
    const token = homeserver.register('alice', 'pw');
    expect(await page('return navigator.serviceWorker.controller === null;')).toBe(true);
    await register(token);
    const a = homeserver.addMedia(samplePng(21, 13, 1), 'image/png');
    const b = homeserver.addMedia(samplePng(22, 13, 2), 'image/png');
    expect(await loadImage(legacy(homeserver, a))).toEqual({ ok: true, width: 21, height: 13 });
    expect(await loadImage(`${homeserver.url}/_matrix/client/v1/media/download/${b.slice(6)}`)).toEqual({ ok: true, width: 22, height: 13 });
    expect(mediaGets().map((r) => [r.path.split('/localhost/')[0], r.authorization])).toEqual([
      ['/_matrix/client/v1/media/download', `Bearer ${token}`],
      ['/_matrix/client/v1/media/download', `Bearer ${token}`],
    ]);
    expect(homeserver.log.filter((r) => r.path === '/_matrix/client/versions').map((r) => r.authorization)).toEqual([null]);
  });

  it('a normal reload', async () => {
    const token = homeserver.register('alice', 'pw');
    await register(token);
    await session.navigate(`${app.url}/index.html`);
    await page('while (!window.ready) await new Promise((r) => setTimeout(r, 20));');
    await register(token);
    expect((await loadImage(legacy(homeserver, homeserver.addMedia(samplePng(5, 5), 'image/png')))).ok).toBe(true);
    expect(mediaGets().every((r) => r.authorization === `Bearer ${token}`)).toBe(true);
  });

});

describe('token containment', () => {
  it('media paths on another origin, another port, a look-alike host or outside the path prefix carry no token', async () => {
    const token = homeserver.register('alice', 'pw');
    await register(token, `${homeserver.url}/prefix`);
    const mxc = attacker.addMedia(samplePng(4, 4), 'image/png');
    const path = `/_matrix/media/v3/download/${mxc.slice(6)}`;
    for (const url of [
      `http://localhost:${new URL(attacker.url).port}/prefix${path}`,
      `${attacker.url}/prefix${path}`,
      `http://127.0.0.1.evil.localhost:${new URL(homeserver.url).port}/prefix${path}`,
      `${homeserver.url}${path}`,
      `${homeserver.url}/prefix2${path}`,
    ]) {
      await loadImage(url);
    }
    expect([...homeserver.log, ...attacker.log].every((r) => r.authorization === null)).toBe(true);
    expect(attacker.log.filter((r) => r.method === 'GET').length).toBeGreaterThanOrEqual(2);
  });

  it('a mediaUrl opened as a navigation loads with its session\'s token', async () => {
    const token = homeserver.register('alice', 'pw');
    await register(token);
    const mxc = homeserver.addMedia(samplePng(31, 17), 'image/png', 'pic.png');
    const url = await page<string>('return window.handles[0].mediaUrl(args, { filename: "pic.png" });', mxc);
    await session.navigate(url);
    const shown = await page<number>(
      'for (let i = 0; i < 100 && !(document.querySelector("img") && document.querySelector("img").complete); i++) await new Promise((r) => setTimeout(r, 50)); return document.querySelector("img") ? document.querySelector("img").naturalWidth : -1;',
    );
    expect(shown).toBe(31);
    expect(mediaGets().map((r) => r.authorization)).toEqual([`Bearer ${token}`]);
  });

  it('after signOut no request carries the old token, and the worker\'s storage no longer holds it', async () => {
    const token = homeserver.register('alice', 'pw');
    await register(token);
    expect((await loadImage(legacy(homeserver, homeserver.addMedia(samplePng(4, 4, 1), 'image/png')))).ok).toBe(true);
    await page('await window.handles[0].signOut();');
    const stored = await page<string>(
      `return await new Promise((resolve) => {
         const open = indexedDB.open('matrix-media-sw');
         open.onsuccess = () => {
           const all = open.result.transaction('sessions').objectStore('sessions').getAll();
           all.onsuccess = () => resolve(JSON.stringify(all.result));
         };
       });`,
    );
    expect(stored).not.toContain(token);
    const from = homeserver.log.length;
    expect((await loadImage(legacy(homeserver, homeserver.addMedia(samplePng(4, 4, 2), 'image/png')))).ok).toBe(false);
    expect(homeserver.log.slice(from).every((r) => r.authorization === null)).toBe(true);
  });

});

describe('bad input', () => {
  it('malformed media URLs never carry the token anywhere but the path they named', async () => {
    const token = homeserver.register('alice', 'pw');
    await register(token);
    const mxc = homeserver.addMedia(samplePng(4, 4), 'image/png');
    const [server, id] = mxc.slice(6).split('/') as [string, string];
    const base = `${homeserver.url}/_matrix/media/v3/download`;
    for (const url of [`${base}/${server}/%2e%2e/%2e%2e/client/v3/account/whoami`, `${base}/${server}/a%2Fb`, `${base}/bad_server!/${id}`, `${base}//${id}`]) {
      await loadImage(url);
    }
    expect(homeserver.log.filter((r) => r.authorization !== null)).toEqual([]);
  });

});

describe('faults survived', () => {
  it('a video plays and seeks through the worker (crossorigin), against a server that ignores Range', async () => {
    homeserver.config.rangeSupport = false;
    const token = homeserver.register('alice', 'pw');
    await register(token);
    const mxc = homeserver.addMedia(VIDEO, 'video/webm', 'clip.webm');
    const result = await page<{ duration: number; at: number; error: string | null }>(
      `const v = document.createElement('video');
       v.muted = true; v.crossOrigin = 'anonymous'; document.body.append(v);
       const failed = await new Promise((ok) => {
         v.addEventListener('loadedmetadata', () => ok(null), { once: true });
         v.addEventListener('error', () => ok('error ' + (v.error && v.error.code)), { once: true });
         v.src = args;
       });
       if (failed) return { duration: 0, at: 0, error: failed };
       const seeked = new Promise((r) => v.addEventListener('seeked', r, { once: true }));
       v.currentTime = 25;
       await seeked;
       return { duration: v.duration, at: v.currentTime, error: null };`,
      legacy(homeserver, mxc),
    );
    expect(result.error).toBeNull();
    expect(result.duration).toBeGreaterThan(29);
    expect(result.at).toBeGreaterThanOrEqual(24.5);
    expect(mediaGets().length).toBeGreaterThan(0);
    expect(mediaGets().every((r) => r.authorization === `Bearer ${token}`)).toBe(true);
  });
});
