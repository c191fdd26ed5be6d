import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Engine } from '../scenarios/driver.js';
import { pageDriver } from '../browser/pageDriver.js';
import { PLAY_AND_SEEK, storeContents, untilStored } from '../scenarios/store.js';
import { assertNothingOfTheVideoStored } from '../scenarios/storeRules.js';
import { expect, openAppPage, register, synapseRequests, test, upload } from './fixtures.js';

// A file an admin removes stops showing: Synapse sends `public, max-age=86400`, so without a
// shorter storeMaxAgeMs a stored copy would be served for a day; with one, the recheck hears
// Synapse's 404 and the worker deletes the copy.

const VIDEO = readFileSync(resolve(import.meta.dirname, '../../demo/media/sample-video.webm'));
const STORE_MAX_AGE_MS = 1_000;

test('a quarantined video stops playing once storeMaxAgeMs has passed, and its stored bytes are deleted', async ({ page, app, synapse, browserName }) => {
  const admin = await synapse.registerAdmin(`admin${Date.now()}`, 'pw');
  const token = await synapse.register(`u${Date.now()}`, 'pw');
  const mxc = await upload(synapse, token, VIDEO, 'video/webm', 'clip.webm');
  const [serverName, mediaId] = mxc.slice('mxc://'.length).split('/');
  const d = pageDriver(page, browserName as Engine);
  const signIn = () => register(page, { homeserverUrl: synapse.url, accessToken: token, storeMaxAgeMs: STORE_MAX_AGE_MS });

  await openAppPage(page, app.url);
  await signIn();
  const src = await page.evaluate((m) => (window as any).handles[0].mediaUrl(m), mxc);
  expect(await d.run(PLAY_AND_SEEK, { src, at: 0.9, unload: true })).toEqual({ loaded: 'loadedmetadata', seeked: 'seeked', at: 27, played: true });
  await untilStored(d, mxc, VIDEO.length);

  const quarantine = await fetch(`${synapse.url}/_synapse/admin/v1/media/quarantine/${serverName}/${mediaId}`, { method: 'POST', headers: { Authorization: `Bearer ${admin}` } });
  expect(quarantine.status, await quarantine.clone().text()).toBe(200);
  // What a client without the worker now gets.
  const direct = await fetch(`${synapse.url}/_matrix/client/v1/media/download/${serverName}/${mediaId}`, { headers: { Authorization: `Bearer ${token}` } });
  expect(direct.status).toBe(404);

  await new Promise((r) => setTimeout(r, STORE_MAX_AGE_MS + 200));
  const from = synapseRequests(synapse).length;
  await page.reload();
  await page.waitForFunction(() => (window as any).ready === true);
  await signIn();
  const replay = await d.run<{ loaded: string }>(PLAY_AND_SEEK, { src, at: 0.9, unload: true });
  expect(replay.loaded, 'the quarantined video must not play').not.toBe('loadedmetadata');
  // Synapse writes a request's log line as it finishes: poll rather than race it.
  await expect
    .poll(() => synapseRequests(synapse).slice(from).filter((r) => r.path.includes(mediaId!)).map((r) => r.status))
    .toContain(404);
  expect((await storeContents(d)).filter((f) => f.key.endsWith(`/${mediaId}`))).toEqual([]);
  await assertNothingOfTheVideoStored(d, 'after the quarantine');
});
