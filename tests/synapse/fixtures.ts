import type { Page } from '@playwright/test';
import { test as base } from '../browser/fixtures.js';
import { uploadMedia } from '../realHomeserver.js';
import { startSynapse, type Synapse } from './synapse.js';

export { expect, loadImage, register } from '../browser/fixtures.js';

/** One real Synapse per test worker, as a Playwright worker fixture. */
export const synapseFixture: [(args: object, use: (synapse: Synapse) => Promise<void>) => Promise<void>, { scope: 'worker'; timeout: number }] = [
  async ({}, use) => {
    const synapse = await startSynapse();
    await use(synapse);
    await synapse.stop();
  },
  // The first run ever installs Synapse and migrates a database template.
  { scope: 'worker', timeout: 600_000 },
];

/** The browser fixtures plus one real Synapse per test worker. */
export const test = base.extend<{}, { synapse: Synapse }>({ synapse: synapseFixture });

/** Uploads `data` through Synapse's (still current) v3 upload endpoint; returns the mxc URI. */
export const upload = (synapse: Synapse, token: string, data: Buffer, contentType: string, fileName: string) => uploadMedia(synapse.url, token, data, contentType, fileName, 'Synapse');

export const legacyUrl = (synapse: Synapse, mxc: string, endpoint = 'download') => `${synapse.url}/_matrix/media/v3/${endpoint}/${mxc.slice(6)}`;
export const v1Url = (synapse: Synapse, mxc: string, endpoint = 'download') => `${synapse.url}/_matrix/client/v1/media/${endpoint}/${mxc.slice(6)}`;

/** One request line of Synapse's log: who it authenticated as, the status, method and path. */
export interface SynapseRequest {
  user: string | null;
  status: number;
  method: string;
  path: string;
}

/**
 * The requests Synapse logged: "{@alice:localhost} Processed request: … 200 "GET /path HTTP/1.1"".
 * Synapse writes the user each request authenticated as, which is how these tests see whose
 * token the worker sent without Synapse echoing headers.
 */
export function synapseRequests(synapse: Synapse): SynapseRequest[] {
  const lines = synapse.readLog().split('\n');
  const requests: SynapseRequest[] = [];
  for (const line of lines) {
    const match = /\{([^}]*)\} Processed request: .* (\d{3}) "([A-Z]+) (\S+) HTTP/.exec(line);
    if (!match) continue;
    const [, user = '', status = '0', method = '', path = ''] = match;
    requests.push({ user: user.startsWith('@') ? user : null, status: Number(status), method, path });
  }
  return requests;
}

export async function whoami(synapse: Synapse, token: string): Promise<string> {
  const body = (await (await fetch(`${synapse.url}/_matrix/client/v3/account/whoami`, { headers: { Authorization: `Bearer ${token}` } })).json()) as {
    user_id: string;
  };
  return body.user_id;
}

export async function openAppPage(page: Page, appUrl: string): Promise<void> {
  await page.goto(`${appUrl}/index.html`);
  await page.waitForFunction(() => (window as unknown as { ready?: boolean }).ready === true);
}
