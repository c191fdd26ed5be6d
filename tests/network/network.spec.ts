import { test as base } from '../browser/fixtures.js';
import { pageDriver } from '../browser/pageDriver.js';
import { startCountingProxy } from '../countingProxy.js';
import { dendriteFixture, type Dendrite } from '../dendrite/dendrite.js';
import type { Engine } from '../scenarios/driver.js';
import { networkFaultScenarios, type RealServer } from '../scenarios/networkFaults.js';
import { synapseFixture } from '../synapse/fixtures.js';
import type { Synapse } from '../synapse/synapse.js';
import { uploadMedia } from '../realHomeserver.js';
import { startToxiproxy, type Toxiproxy } from '../toxiproxy.js';

// The network-fault scenarios (tests/scenarios/networkFaults.ts) in Chromium and Firefox,
// against a real Synapse and a real Dendrite: browser → counting proxy → Toxiproxy → server, a
// proxy and a link of their own per test, so that each test meets an origin the worker has not
// judged yet. No Playwright request routing, so CORS faults show.

const test = base.extend<{}, { synapse: Synapse; dendrite: Dendrite; toxiproxy: Toxiproxy }>({
  synapse: synapseFixture,
  dendrite: dendriteFixture,
  toxiproxy: [
    async ({}, use) => {
      const toxiproxy = await startToxiproxy();
      await use(toxiproxy);
      await toxiproxy.stop();
    },
    { scope: 'worker', timeout: 120_000 },
  ],
});

const modes = [
  { server: 'Synapse', preflightAnswered: false, label: 'Synapse' },
  { server: 'Dendrite', preflightAnswered: false, label: 'Dendrite answering the v1 media preflight itself (401, no CORS headers)' },
  { server: 'Dendrite', preflightAnswered: true, label: 'Dendrite behind a proxy that answers CORS preflights' },
] as const;

for (const mode of modes) {
  test.describe(mode.label, () => {
    for (const scenario of networkFaultScenarios) {
      if (scenario.servers && !scenario.servers.includes(mode.server)) continue;
      // Behind a preflight-answering proxy Dendrite takes the path Synapse takes: only the gallery, whose preflights differ, runs there too.
      if (mode.preflightAnswered && !scenario.servers) continue;
      test(scenario.title, async ({ appPage: page, synapse, dendrite, toxiproxy, browserName }, testInfo) => {
        const real = mode.server === 'Synapse' ? synapse : dendrite;
        const server: RealServer = {
          name: mode.server,
          register: (username, password) => real.register(username, password),
          upload: (token, data, contentType, fileName) => uploadMedia(real.url, token, data, contentType, fileName, mode.server),
        };
        const link = await toxiproxy.link(real.url);
        const proxy = await startCountingProxy(link.url, { answerPreflights: mode.preflightAnswered });
        try {
          await scenario.run({
            driver: pageDriver(page, browserName as Engine),
            server,
            link,
            proxy,
            preflightAnswered: mode.preflightAnswered,
            note: (text) => {
              testInfo.annotations.push({ type: 'note', description: text });
              console.log(`[${browserName} · ${mode.label.split(' ')[0]}${mode.preflightAnswered ? ' (preflight answered)' : ''}] ${scenario.title.split(':')[0]}: ${text}`);
            },
          });
        } finally {
          await proxy.close();
          await link.close();
        }
      });
    }
  });
}
