import assert from 'node:assert/strict';
import { samplePng } from '../../../demo/homeserver/png.js';
import { until } from '../driver.js';
import { legacy, loadImage, mediaGets, recordReports, register, reports, type ReliabilityGroup, type ReliabilityScenario } from './env.js';

// Token containment: the token goes to the registered homeserver's authenticated endpoints and
// nowhere else. Besides each scenario's own checks, the runner's audit fails any scenario in
// which a server saw a token where none belongs.

const redirects: ReliabilityScenario[] = ([307, 308] as const).map((status) => ({
  title: `a ${status} redirect to another origin: the second hop has no Authorization`,
  async run({ driver: d, homeserver }) {
    homeserver.config.redirect = { status, to: 'cdn' };
    const token = homeserver.register('alice', 'pw');
    const mxc = homeserver.addMedia(samplePng(12, 9), 'image/png');
    await register(d, { homeserverUrl: homeserver.url, accessToken: token });
    assert.deepEqual(await loadImage(d, legacy(homeserver, mxc)), { ok: true, width: 12, height: 9 });
    const hops = homeserver.log.filter((r) => r.method === 'GET' && (r.origin === 'cdn' || r.path.includes('/media/')));
    assert.deepEqual(
      hops.map((r) => [r.origin, r.status, r.authorization === null ? 'no token' : 'token']),
      [
        ['homeserver', status, 'token'],
        ['cdn', 200, 'no token'],
      ],
    );
  },
}));

export const containment: ReliabilityGroup = {
  title: 'token containment',
  scenarios: [
    {
      title: 'media paths on another origin, another port, a look-alike host or outside the path prefix carry no token',
      async run({ driver: d, homeserver, attacker }) {
        const token = homeserver.register('alice', 'pw');
        await register(d, { homeserverUrl: `${homeserver.url}/prefix`, accessToken: token });
        await recordReports(d);
        const port = new URL(homeserver.url).port;
        const attackerPort = new URL(attacker.url).port;
        const mxc = attacker.addMedia(samplePng(8, 8), 'image/png');
        const path = `/_matrix/media/v3/download/${mxc.slice(6)}`;
        const urls = [
          `http://localhost:${attackerPort}/prefix${path}`, // another origin
          `http://127.0.0.1:${attackerPort}/prefix${path}`, // the homeserver's host, another port
          `http://127.0.0.1.evil.localhost:${port}/prefix${path}`, // a look-alike host (resolves to loopback where the engine does)
          `http://127.0.0.1:${port}${path}`, // the homeserver, outside its path prefix
          `http://127.0.0.1:${port}/prefix2${path}`, // a prefix that merely starts the same
          `http://127.0.0.1:${port}/prefix/x${path}`, // below the prefix, not at it
        ];
        for (const url of urls) await loadImage(d, url);
        // The worker's own account of each: passed through untouched, never authenticated.
        const seen = await until(() => reports(d), (r) => r.length >= urls.length);
        assert.deepEqual(seen.map((r) => r.outcome), Array(urls.length).fill('passed-through'));
        assert.ok(attacker.log.filter((r) => r.method === 'GET').length >= 2);
        assert.ok([...attacker.log, ...homeserver.log].every((r) => r.authorization === null));
      },
    },
    ...redirects,
    {
      title: 'a same-origin 307 keeps the token, as the Fetch standard says',
      async run({ driver: d, homeserver }) {
        homeserver.config.redirect = { status: 307, to: 'same-origin' };
        const token = homeserver.register('alice', 'pw');
        const mxc = homeserver.addMedia(samplePng(5, 5), 'image/png');
        await register(d, { homeserverUrl: homeserver.url, accessToken: token });
        assert.equal((await loadImage(d, legacy(homeserver, mxc))).ok, true);
        const redirected = homeserver.log.find((r) => r.method === 'GET' && r.path.startsWith('/_test/redirected/'));
        assert.equal(redirected?.authorization, `Bearer ${token}`);
      },
    },
    {
      title: '/versions and the legacy endpoints never see the token, even on a server older than Matrix 1.11',
      async run({ driver: d, homeserver }) {
        Object.assign(homeserver.config, { versions: ['v1.9'], authenticatedMedia: false, freezeNewMedia: false });
        const token = homeserver.register('alice', 'pw');
        const mxc = homeserver.addMedia(samplePng(7, 7), 'image/png');
        await register(d, { homeserverUrl: homeserver.url, accessToken: token });
        assert.equal((await loadImage(d, `${legacy(homeserver, mxc)}?access_token=${token}`)).ok, true);
        // The page wrote the token into the URL; the worker drops it rather than hand it to an
        // unauthenticated endpoint.
        const seen = homeserver.log.filter((r) => r.method === 'GET');
        assert.deepEqual(seen.map((r) => r.path), ['/_matrix/client/versions', `/_matrix/media/v3/download/${mxc.slice(6)}`]);
        assert.ok(seen.every((r) => r.authorization === null));
      },
    },
    {
      title: 'messages from a tab that did not register, or of the wrong shape, change nothing',
      async run({ driver: d, app, homeserver }) {
        const token = homeserver.register('alice', 'pw');
        const { sessionId } = await register(d, { homeserverUrl: homeserver.url, accessToken: token });
        const intruder = await d.newTab(`${app.url}/index.html`);
        const answers = await intruder.run(
          async ({ sessionId, homeserverUrl }: { sessionId: string; homeserverUrl: string }) => {
            while (!navigator.serviceWorker.controller) await new Promise((r) => setTimeout(r, 20));
            const ask = (message: unknown) =>
              new Promise((resolve) => {
                const channel = new MessageChannel();
                channel.port1.onmessage = (event) => resolve(event.data);
                setTimeout(() => resolve('no answer'), 1000);
                navigator.serviceWorker.controller!.postMessage(message, [channel.port2]);
              });
            return [
              await ask({ type: 'mms/session', session: { id: sessionId, key: 'f'.repeat(32), homeserverUrl, accessToken: 'stolen' } }),
              await ask({ type: 'mms/sign-out', sessionId, key: 'f'.repeat(32) }),
              await ask({ type: 'mms/session', session: { id: sessionId, homeserverUrl, accessToken: 'no key' } }),
              await ask('mms/claim'),
              await ask({ type: 'SKIP_WAITING' }),
              await ask(null),
            ];
          },
          { sessionId, homeserverUrl: homeserver.url },
        );
        const [refused, signOut, ...rest] = answers as [unknown, { type: string; version: unknown }, ...unknown[]];
        // Alice's tab is open: the id is refused as hers before its key is even compared.
        assert.deepEqual(refused, { type: 'mms/error', code: 'bad-message', message: 'That session id is held by another open page (this one inherited its sessionStorage); register with a session of its own.' });
        assert.equal(signOut.type, 'mms/ack');
        assert.equal(typeof signOut.version, 'string');
        assert.deepEqual(rest, ['no answer', 'no answer', 'no answer', 'no answer']);
        // The registered tab's media still goes out with its own token; the intruder's with none.
        assert.equal((await loadImage(d, legacy(homeserver, homeserver.addMedia(samplePng(6, 6, 1), 'image/png')))).ok, true);
        assert.equal((await loadImage(intruder, legacy(homeserver, homeserver.addMedia(samplePng(6, 6, 2), 'image/png')))).ok, false);
        assert.deepEqual(mediaGets(homeserver).map((r) => r.authorization), [`Bearer ${token}`, null]);
      },
    },
    {
      title: "a mediaUrl opened as a navigation loads with its session's token",
      async run({ driver: d, app, homeserver }) {
        const token = homeserver.register('alice', 'pw');
        await register(d, { homeserverUrl: homeserver.url, accessToken: token });
        const mxc = homeserver.addMedia(samplePng(31, 17), 'image/png', 'pic.png');
        const url = await d.run<string>('return window.handles[0].mediaUrl(args, { filename: "Holiday photo.png" });', mxc);
        assert.equal(new URL(url).origin, app.url);
        const tab = await d.newTab(`${app.url}/index.html`);
        await tab.navigate(url);
        // The browser's own image document: the picture, decoded.
        const width = await until(() => tab.run<number | null>('return document.querySelector("img")?.naturalWidth ?? null;'), (w) => w === 31);
        assert.equal(width, 31);
        assert.deepEqual(
          mediaGets(homeserver).map((r) => [r.path, r.authorization]),
          [[`/_matrix/client/v1/media/download/${mxc.slice(6)}/Holiday%20photo.png`, `Bearer ${token}`]],
        );
        // What "Save image as" gets: the type, and the name asked for.
        const headers = await d.run<[string | null, string | null]>('const r = await fetch(args); return [r.headers.get("content-type"), r.headers.get("content-disposition")];', url);
        assert.deepEqual(headers, ['image/png', `inline; filename="Holiday photo.png"; filename*=UTF-8''Holiday%20photo.png`]);
      },
    },
    {
      title: "after signOut no request carries the old token, and the worker's storage no longer holds it",
      async run({ driver: d, homeserver }) {
        const token = homeserver.register('alice', 'pw');
        await register(d, { homeserverUrl: homeserver.url, accessToken: token });
        const before = homeserver.addMedia(samplePng(6, 6, 3), 'image/png');
        assert.equal((await loadImage(d, legacy(homeserver, before))).ok, true);
        // The worker's session records, as stored.
        const sessions = () =>
          d.run<string>(
            () =>
              new Promise<string>((resolve) => {
                const open = indexedDB.open('matrix-media-sw');
                open.onsuccess = () => {
                  const all = open.result.transaction('sessions').objectStore('sessions').getAll();
                  all.onsuccess = () => resolve(JSON.stringify(all.result));
                };
              }),
          );
        assert.ok((await sessions()).includes(token), 'the worker kept the session before');
        await d.run('await window.handles[0].signOut();');
        assert.ok(!(await sessions()).includes(token));
        const from = homeserver.log.length;
        // Signed out: the frozen legacy URLs answer 404, and the images stay broken.
        for (const seed of [4, 5, 6]) assert.equal((await loadImage(d, legacy(homeserver, homeserver.addMedia(samplePng(6, 6, seed), 'image/png')))).ok, false);
        await loadImage(d, legacy(homeserver, before).replace('/_matrix/media/v3/', '/_matrix/client/v1/media/'));
        assert.ok(homeserver.log.slice(from).every((r) => r.authorization === null));
      },
    },
  ],
};
