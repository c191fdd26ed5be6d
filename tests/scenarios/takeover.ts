import assert from 'node:assert/strict';
import { samplePng } from '../../demo/homeserver/png.js';
import type { Homeserver } from '../../demo/homeserver/server.js';
import type { AppServer } from '../browser/appServer.js';
import type { Engine, PageDriver } from './driver.js';
import { WAIT_FOR_READY } from './driver.js';
import { workboxAppFiles } from './testApps.js';

/**
 * Adopted by a real client: every app that would use the add-on ships its own worker at the site
 * root, so its users arrive with a page controlled by that worker. Each scenario starts there
 * (or at the reverse move), registers the add-on and checks what the user sees and what the
 * homeserver receives. Written once; tests/browser/takeover.spec.ts runs them in Chromium and
 * Firefox, tests/webkit/scenarios.test.ts in WebKit.
 */

export interface ScenarioEnv {
  driver: PageDriver;
  app: AppServer;
  homeserver: Homeserver;
  /** Records a figure for the test report (how long registration took after activation, say). */
  note(text: string): void;
}

export interface Scenario {
  title: string;
  /** Why this engine cannot run the scenario, or undefined where it can. */
  skip?(engine: Engine): string | undefined;
  run(env: ScenarioEnv): Promise<void>;
}

const PASSTHROUGH = '/apps/passthrough-sw.js';
const LAZY = '/apps/passthrough-sw.js?lazy';
const TOKEN_ASKING = '/apps/token-sw.js';
const NEVER_SETTLING = '/apps/token-sw.js?forever';

/** Registers an app's own worker at the root scope, as the app's old version did, and waits until it is active. */
async function installAppWorker(d: PageDriver, script: string, options: { updateViaCache?: string } = {}): Promise<void> {
  await d.run(
    `const registration = await navigator.serviceWorker.register(args.script, { scope: '/', ...args.options });
     const worker = registration.installing || registration.waiting || registration.active;
     while (worker.state !== 'activated') await new Promise((r) => worker.addEventListener('statechange', r, { once: true }));`,
    { script, options },
  );
}

/** The path of the script that controls the page, or null. */
function controllerPath(d: PageDriver): Promise<string | null> {
  return d.run(`const c = navigator.serviceWorker.controller; return c ? new URL(c.scriptURL).pathname + new URL(c.scriptURL).search : null;`);
}

/** The old app version answers its worker's token requests (the new one does not). */
function answerTokenRequests(d: PageDriver, token: string): Promise<void> {
  return d.run(
    `navigator.serviceWorker.addEventListener('message', (event) => {
       if (event.data && event.data.type === 'app/token-request') event.ports[0].postMessage({ token: args });
     });
     navigator.serviceWorker.startMessages();`,
    token,
  );
}

interface Registered {
  ok: boolean;
  code?: string;
  message?: string;
  /** Milliseconds from our worker's activation to the promise's resolution, where it was seen. */
  afterActivationMs: number | null;
}

/** Calls registerMediaWorker as the new app version does, timing it against our worker's activation. */
function registerAddOn(d: PageDriver, options: Record<string, unknown>): Promise<Registered> {
  return d.run(
    `const scriptURL = new URL(args.scriptUrl || '/matrix-media-sw.js', location.href).href;
     let activatedAt = null;
     const watch = (worker) => {
       if (!worker || worker.scriptURL !== scriptURL) return;
       worker.addEventListener('statechange', () => {
         if (worker.state === 'activated' && activatedAt === null) activatedAt = performance.now();
       });
     };
     const existing = await navigator.serviceWorker.getRegistration('/');
     if (existing) existing.addEventListener('updatefound', () => watch(existing.installing));
     const result = await window.register(args);
     return { ...result, afterActivationMs: activatedAt === null ? null : Math.round(performance.now() - activatedAt) };`,
    options,
  );
}

/** Every session record in the worker's IndexedDB, as JSON ("[]" when there is none). */
export function storedSessions(d: PageDriver): Promise<string> {
  return d.run(
    `return await new Promise((resolve, reject) => {
       const open = indexedDB.open('matrix-media-sw');
       open.onerror = () => reject(open.error);
       open.onsuccess = () => {
         const db = open.result;
         if (!db.objectStoreNames.contains('sessions')) return resolve('[]');
         const all = db.transaction('sessions').objectStore('sessions').getAll();
         all.onsuccess = () => resolve(JSON.stringify(all.result));
       };
     });`,
  );
}

/** Adds an image to the homeserver and shows it by its frozen legacy URL; returns what the user saw and the requests it caused. */
async function showNewImage(d: PageDriver, homeserver: Homeserver, seed: number) {
  const mxc = homeserver.addMedia(samplePng(20 + seed, 10, seed), 'image/png');
  const before = homeserver.log.length;
  const shown = await d.run<{ ok: boolean; width: number }>('return window.loadImage(args);', `${homeserver.url}/_matrix/media/v3/download/${mxc.slice(6)}`);
  const requests = homeserver.log
    .slice(before)
    .filter((r) => r.method === 'GET' && r.path.includes('/media/'))
    .map((r) => `${r.path.split('/localhost/')[0]} ${r.authorization ?? 'no token'}`);
  return { ok: shown.ok, width: shown.width, requests };
}

/** After registration: media loads with the token, our worker controls the page, and signOut leaves no token stored. */
async function expectWorkingAddOn(env: ScenarioEnv, token: string, result: Registered, controller = '/matrix-media-sw.js'): Promise<void> {
  const { driver: d, homeserver } = env;
  assert.deepEqual({ ok: result.ok, code: result.code }, { ok: true, code: undefined }, result.message);
  env.note(`registration resolved ${result.afterActivationMs ?? '(activation not observed)'} ms after our worker activated`);
  assert.equal(await controllerPath(d), controller);
  assert.deepEqual(await showNewImage(d, homeserver, 7), {
    ok: true,
    width: 27,
    requests: [`/_matrix/client/v1/media/download Bearer ${token}`],
  });
  assert.match(await storedSessions(d), new RegExp(token));
  await d.run('await window.handles[window.handles.length - 1].signOut();');
  assert.doesNotMatch(await storedSessions(d), new RegExp(token));
}

export const takeoverScenarios: Scenario[] = [
  {
    title: 'an app worker that claims its pages and passes every fetch through, with a download in flight',
    async run(env) {
      const { driver: d, homeserver } = env;
      await installAppWorker(d, PASSTHROUGH);
      await d.reload();
      assert.equal(await controllerPath(d), PASSTHROUGH);
      // A large image still arriving through the old worker while the add-on registers.
      homeserver.config.mediaBytesPerSecond = 100_000;
      const big = homeserver.addMedia(samplePng(400, 400, 3), 'image/png');
      await d.run('window.inFlight = window.loadImage(args);', `${homeserver.url}/_matrix/media/v3/download/${big.slice(6)}`);
      const token = homeserver.register('alice', 'pw');
      const result = await registerAddOn(d, { homeserverUrl: homeserver.url, accessToken: token });
      homeserver.config.mediaBytesPerSecond = 0;
      await expectWorkingAddOn(env, token, result);
    },
  },
  {
    title: 'an app worker that never calls skipWaiting or clients.claim',
    async run(env) {
      const { driver: d, homeserver } = env;
      await installAppWorker(d, LAZY);
      await d.reload();
      assert.equal(await controllerPath(d), LAZY);
      const token = homeserver.register('alice', 'pw');
      await expectWorkingAddOn(env, token, await registerAddOn(d, { homeserverUrl: homeserver.url, accessToken: token }));
    },
  },
  {
    title: 'an app media worker that asks the page for the token, which the new page no longer answers, with media hanging in it',
    async run(env) {
      const { driver: d, homeserver } = env;
      const token = homeserver.register('alice', 'pw');
      await installAppWorker(d, TOKEN_ASKING);
      await d.reload();
      // The old app version: its worker works while the page answers.
      await answerTokenRequests(d, token);
      const before = homeserver.addMedia(samplePng(11, 11, 1), 'image/png');
      assert.equal((await d.run<{ ok: boolean }>('return window.loadImage(args);', `${homeserver.url}/_matrix/client/v1/media/download/${before.slice(6)}`)).ok, true);
      // The new app version: nobody answers the old worker, and its media requests hang.
      await d.reload();
      assert.equal(await controllerPath(d), TOKEN_ASKING);
      const hanging = homeserver.addMedia(samplePng(12, 12, 2), 'image/png');
      await d.run('window.hanging = window.loadImage(args);', `${homeserver.url}/_matrix/client/v1/media/download/${hanging.slice(6)}`);
      const result = await registerAddOn(d, { homeserverUrl: homeserver.url, accessToken: token });
      await expectWorkingAddOn(env, token, result);
    },
  },
  {
    title: 'an app media worker whose requests never settle: the browser keeps it, and the error says so',
    async run(env) {
      const { driver: d, homeserver } = env;
      const token = homeserver.register('alice', 'pw');
      await installAppWorker(d, NEVER_SETTLING);
      await d.reload();
      const hanging = homeserver.addMedia(samplePng(12, 12, 2), 'image/png');
      await d.run('window.hanging = window.loadImage(args);', `${homeserver.url}/_matrix/client/v1/media/download/${hanging.slice(6)}`);
      // Chromium and Firefox do not activate a successor while the old worker has fetch events
      // unfinished; the browser ends them only after minutes.
      const result = await registerAddOn(d, { homeserverUrl: homeserver.url, accessToken: token, timeoutMs: 3000 });
      assert.equal(result.code, 'registration-failed');
      assert.match(result.message ?? '', /keeps the previous worker \(http:\/\/localhost:\d+\/apps\/token-sw\.js\?forever\) active while it still handles requests/);
      // A reload does not end them either: the same, clear error.
      await d.reload();
      const again = await registerAddOn(d, { homeserverUrl: homeserver.url, accessToken: token, timeoutMs: 3000 });
      assert.equal(again.code, 'registration-failed');
      assert.match(again.message ?? '', /call registerMediaWorker again then, or pass a longer timeoutMs/);
    },
  },
  {
    title: "an app's old worker at the very URL the add-on is now served from",
    async run(env) {
      const { driver: d, app, homeserver } = env;
      const token = homeserver.register('alice', 'pw');
      app.overrides.set('/matrix-media-sw.js', app.fileOf(TOKEN_ASKING));
      await installAppWorker(d, '/matrix-media-sw.js', { updateViaCache: 'none' });
      await d.reload();
      await answerTokenRequests(d, token);
      // The deploy: the same URL now serves the add-on.
      app.overrides.delete('/matrix-media-sw.js');
      await d.reload();
      await expectWorkingAddOn(env, token, await registerAddOn(d, { homeserverUrl: homeserver.url, accessToken: token }));
    },
  },
  {
    title: 'the reverse move: from the standalone worker to an app Workbox worker with installMatrixMedia',
    async run(env) {
      const { driver: d, app, homeserver } = env;
      for (const [path, file] of Object.entries(await workboxAppFiles())) app.overrides.set(path, file);
      const token = homeserver.register('alice', 'pw');
      const first = await registerAddOn(d, { homeserverUrl: homeserver.url, accessToken: token });
      assert.equal(first.ok, true, first.message);
      assert.equal((await showNewImage(d, homeserver, 1)).ok, true);
      await d.reload();
      const moved = await registerAddOn(d, { homeserverUrl: homeserver.url, accessToken: token, scriptUrl: '/app-sw.js' });
      await expectWorkingAddOn(env, token, moved, '/app-sw.js');
    },
  },
  {
    title: 'a hard reload while the add-on takes over from an app worker',
    skip: (engine) => (engine === 'chromium' ? undefined : 'a test can issue a hard reload only through Chromium\'s DevTools protocol (Page.reload ignoreCache)'),
    async run(env) {
      const { driver: d, homeserver } = env;
      await installAppWorker(d, TOKEN_ASKING);
      await d.reload();
      const token = homeserver.register('alice', 'pw');
      // Registration starts, and the user hard-reloads before it ends.
      await d.run('window.register(args); await new Promise((r) => setTimeout(r, 30));', { homeserverUrl: homeserver.url, accessToken: token });
      await d.hardReload!();
      assert.equal(await controllerPath(d), null, 'a hard reload leaves the page uncontrolled');
      await expectWorkingAddOn(env, token, await registerAddOn(d, { homeserverUrl: homeserver.url, accessToken: token }));
    },
  },
  {
    title: 'a registration that fails after the worker received the session leaves no token in its storage',
    async run(env) {
      const { driver: d, homeserver } = env;
      const kept = homeserver.register('alice', 'pw');
      assert.equal((await registerAddOn(d, { homeserverUrl: homeserver.url, accessToken: kept })).ok, true);
      // A page that sent its session and went away before it had a handle, at every moment of
      // the exchange: whatever the worker stores was confirmed by a registration that resolved.
      const tokens: string[] = [];
      for (const delayMs of [0, 1, 2, 4, 8, 16]) {
        const token = homeserver.register(`user${delayMs}`, 'pw');
        tokens.push(token);
        const origin = await d.run<number>(
          `window.register(args.options).then((r) => { if (r.ok) sessionStorage.setItem('resolved:' + args.options.accessToken, '1'); });
           setTimeout(() => location.reload(), args.delayMs);
           return performance.timeOrigin;`,
          { options: { homeserverUrl: homeserver.url, accessToken: token }, delayMs },
        );
        await waitForNewPage(d, origin);
      }
      // The worker prunes sessions of pages that are gone whenever a page registers.
      const last = homeserver.register('last', 'pw');
      assert.equal((await registerAddOn(d, { homeserverUrl: homeserver.url, accessToken: last })).ok, true);
      const stored = await storedSessions(d);
      const resolved = await d.run<string[]>('return Object.keys(sessionStorage).filter((k) => k.startsWith("resolved:")).map((k) => k.slice(9));');
      const storedUnresolved = tokens.filter((t) => stored.includes(t) && !resolved.includes(t));
      assert.deepEqual(storedUnresolved, [], 'tokens of registrations that never resolved were stored');
      env.note(`${resolved.length} of ${tokens.length} interrupted registrations resolved before the reload`);

      // And deterministically: a session the worker received but never had confirmed.
      const orphan = homeserver.register('orphan', 'pw');
      await d.run(
        `const channel = new MessageChannel();
         navigator.serviceWorker.controller.postMessage({ type: 'mms/session', provisional: true,
           session: { id: 'f'.repeat(32), key: 'e'.repeat(32), homeserverUrl: args.hs, accessToken: args.token } }, [channel.port2]);
         await new Promise((r) => (channel.port1.onmessage = r));`,
        { hs: homeserver.url, token: orphan },
      );
      assert.doesNotMatch(await storedSessions(d), new RegExp(orphan));
      await d.reload();
      assert.equal((await registerAddOn(d, { homeserverUrl: homeserver.url, accessToken: last })).ok, true);
      assert.doesNotMatch(await storedSessions(d), new RegExp(orphan));
    },
  },
  {
    title: 'a single-page-app host that answers HTML at the worker URL gets an error that names the cause and the fix',
    async run(env) {
      const { driver: d, app, homeserver } = env;
      app.spaFallback = true;
      const result = await registerAddOn(d, { homeserverUrl: homeserver.url, accessToken: 't', scriptUrl: '/assets/matrix-media-sw.js' });
      assert.equal(result.ok, false);
      assert.equal(result.code, 'registration-failed');
      assert.match(result.message ?? '', /\/assets\/matrix-media-sw\.js is served as text\/html/);
      assert.match(result.message ?? '', /single-page-app/);
      assert.match(result.message ?? '', /Deploying/);
      app.spaFallback = false;
      const missing = await registerAddOn(d, { homeserverUrl: homeserver.url, accessToken: 't', scriptUrl: '/assets/matrix-media-sw.js' });
      assert.equal(missing.code, 'registration-failed');
      assert.match(missing.message ?? '', /answered 404/);
    },
  },
];

/** Waits until the page of time origin `origin` has been replaced and the new one is ready. */
async function waitForNewPage(d: PageDriver, origin: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    await new Promise((r) => setTimeout(r, 25));
    try {
      const now = await d.run<number>(`${WAIT_FOR_READY} return performance.timeOrigin;`);
      if (now !== origin) return;
    } catch {
      // The page is between documents.
    }
  }
  throw new Error('the page did not reload');
}
