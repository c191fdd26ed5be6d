import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { startHomeserver, type Homeserver } from '../../demo/homeserver/server.js';
import { test as base } from '../browser/fixtures.js';
import type { Faults } from '../scenarios/reliability/env.js';
import { leakIn } from './leaks.js';

/**
 * The reliability suite's fixtures: besides the homeserver, an "attacker" server on another
 * origin, and after every test an audit of every request any server received. A request that
 * carries a token where no token belongs is a leak, and fails the test whatever it asserted.
 * Each test's figures (requests, leaks, faults injected and survived) go to
 * test-results/reliability/ for the report.
 */

const METRICS_DIR = resolve(import.meta.dirname, '../../test-results/reliability');

export const test = base.extend<{ attacker: Homeserver; faults: Faults; audit: void }>({
  attacker: async ({}, use) => {
    const attacker = await startHomeserver({ serverName: 'evil.example' });
    await use(attacker);
    await attacker.close();
  },
  faults: async ({}, use) => {
    const injected: string[] = [];
    await use({ inject: (what) => void injected.push(what), injected });
  },
  audit: [
    async ({ homeserver, attacker, faults }, use, testInfo) => {
      await use();
      const leaks = [
        ...homeserver.log.map((entry) => leakIn(entry, 'homeserver')),
        ...attacker.log.map((entry) => leakIn(entry, 'attacker')),
      ].filter((leak): leak is string => leak !== undefined);
      mkdirSync(METRICS_DIR, { recursive: true });
      writeFileSync(
        resolve(METRICS_DIR, `${testInfo.project.name}--${testInfo.testId}.json`),
        JSON.stringify({
          engine: testInfo.project.name.replace(/^reliability-/, ''),
          title: testInfo.titlePath.slice(1).join(' › '),
          requests: homeserver.log.length + attacker.log.length,
          leaks: leaks.length,
          faults: faults.injected.length,
          status: leaks.length > 0 ? 'failed' : testInfo.status,
          skipReason: testInfo.annotations.find((a) => a.type === 'skip')?.description ?? null,
          notes: testInfo.annotations.filter((a) => a.type === 'note').map((a) => a.description),
        }),
      );
      if (leaks.length > 0) throw new Error(`Token leaks:\n${leaks.join('\n')}`);
    },
    { auto: true },
  ],
});
