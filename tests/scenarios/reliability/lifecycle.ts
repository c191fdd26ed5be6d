import assert from 'node:assert/strict';
import { samplePng } from '../../../demo/homeserver/png.js';
import type { Homeserver } from '../../../demo/homeserver/server.js';
import type { PageDriver } from '../driver.js';
import { legacy, loadAll, loadImage, register, type ReliabilityGroup } from './env.js';

// Lifecycle: whatever state the page and worker are in, the homeserver never receives an
// unauthenticated request for media the page shows.

async function showAfterRegistering(d: PageDriver, homeserver: Homeserver, token: string, count: number): Promise<boolean> {
  await register(d, { homeserverUrl: homeserver.url, accessToken: token });
  const urls = Array.from({ length: count }, (_, i) => legacy(homeserver, homeserver.addMedia(samplePng(4, 4, i), 'image/png')));
  return (await loadAll(d, urls)).every((r) => r.ok);
}

const unauthenticatedMedia = (homeserver: Homeserver) =>
  homeserver.log.filter((r) => r.method === 'GET' && r.path.includes('/media/') && (r.authorization === null || !r.path.startsWith('/_matrix/client/v1/')));

const controlled = (d: PageDriver) => d.run<boolean>('return navigator.serviceWorker.controller !== null;');

export const lifecycle: ReliabilityGroup = {
  title: 'lifecycle',
  scenarios: [
    {
      title: 'a first visit',
      async run({ driver: d, homeserver }) {
        const token = homeserver.register('alice', 'pw');
        assert.equal(await controlled(d), false);
        assert.equal(await showAfterRegistering(d, homeserver, token, 5), true);
        assert.equal(await controlled(d), true);
        assert.deepEqual(unauthenticatedMedia(homeserver), []);
      },
    },
    {
      title: 'a normal reload',
      async run({ driver: d, homeserver }) {
        const token = homeserver.register('alice', 'pw');
        await showAfterRegistering(d, homeserver, token, 1);
        await d.reload();
        assert.equal(await controlled(d), true);
        assert.equal(await showAfterRegistering(d, homeserver, token, 5), true);
        assert.deepEqual(unauthenticatedMedia(homeserver), []);
      },
    },
    {
      title: 'a hard reload',
      needs: ['hardReload'],
      async run({ driver: d, homeserver, faults }) {
        const token = homeserver.register('alice', 'pw');
        await showAfterRegistering(d, homeserver, token, 1);
        await d.hardReload!();
        faults.inject('hard reload');
        // Proof that it was a hard reload: the worker does not control the page, until it claims it.
        assert.equal(await controlled(d), false);
        assert.equal(await showAfterRegistering(d, homeserver, token, 5), true);
        assert.equal(await controlled(d), true);
        assert.deepEqual(unauthenticatedMedia(homeserver), []);
      },
    },
    {
      title: 'two tabs signed in as two users each send their own token, also after the worker restarts',
      async run({ driver: d, app, homeserver, faults, note }) {
        const tokens = [homeserver.register('alice', 'pw'), homeserver.register('bob', 'pw')];
        const tabs = [d, await d.newTab(`${app.url}/index.html`)];
        for (const [i, tab] of tabs.entries()) await register(tab, { homeserverUrl: homeserver.url, accessToken: tokens[i] });
        const tokenOf = async (tab: PageDriver, seed: number) => {
          const from = homeserver.log.length;
          assert.equal((await loadImage(tab, legacy(homeserver, homeserver.addMedia(samplePng(4, 4, seed), 'image/png')))).ok, true);
          return homeserver.log.slice(from).filter((r) => r.method === 'GET' && r.path.includes('/media/')).map((r) => r.authorization);
        };
        assert.deepEqual(await tokenOf(tabs[0]!, 1), [`Bearer ${tokens[0]}`]);
        assert.deepEqual(await tokenOf(tabs[1]!, 2), [`Bearer ${tokens[1]}`]);
        if (!d.stopWorkers) {
          note(`the worker restart part is left out: ${d.missing.stopWorkers}`);
          return;
        }
        await d.stopWorkers();
        faults.inject('worker stopped between two users');
        const from = homeserver.log.length;
        assert.deepEqual(await tokenOf(tabs[1]!, 3), [`Bearer ${tokens[1]}`]);
        assert.deepEqual(await tokenOf(tabs[0]!, 4), [`Bearer ${tokens[0]}`]);
        // A new worker, which had to ask /versions again: the old one kept that in memory only.
        assert.equal(homeserver.log.slice(from).filter((r) => r.path === '/_matrix/client/versions').length, 1);
      },
    },
  ],
};
