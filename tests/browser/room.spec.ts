import type { BrowserContext } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mediaOnASmallDisk } from '../scenarios/room.js';
import { test } from './fixtures.js';
import { pageDriver } from './pageDriver.js';

/**
 * The store on a small disk (Chromium: a persistent profile on a 64 MiB tmpfs, whose room
 * `estimate()` does not see) and under a small quota (Firefox: a 200 MiB temporary storage limit,
 * 40 MiB for the site), quiet and with every core busy.
 */

const TMPFS_MIB = 64;
// Firefox gives one site a fifth of its temporary storage limit (in KiB).
const FIREFOX_FIXED_LIMIT_KIB = 200 * 1024;

interface SmallRoom {
  context: BrowserContext;
  close(): Promise<void>;
}

/** Why a small disk cannot be had here, or undefined. */
function cannotMount(): string | undefined {
  if (process.getuid?.() !== 0) return `mounting a ${TMPFS_MIB} MiB tmpfs for Chromium's profile needs root (uid ${process.getuid?.()})`;
  return undefined;
}

test.describe('a small disk and a small quota', () => {
  for (const underLoad of [false, true]) {
    test(`the app can still write after media is watched, and a video too big for the room crosses once${underLoad ? ', with every core busy' : ''}`, async ({ browserName, playwright, launchOptions, homeserver, app }, testInfo) => {
      const browserType = playwright[browserName];
      test.setTimeout(180_000);
      let room: SmallRoom;
      if (browserName === 'chromium') {
        const reason = cannotMount();
        if (reason) console.log(`skipped: ${reason}`);
        test.skip(reason !== undefined, reason);
        const disk = mkdtempSync(join(tmpdir(), 'mms-small-disk-'));
        try {
          execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${TMPFS_MIB}m`, 'tmpfs', disk]);
        } catch (error) {
          rmSync(disk, { recursive: true, force: true });
          const why = `mount -t tmpfs failed: ${(error as Error).message.split('\n')[0]}`;
          console.log(`skipped: ${why}`);
          test.skip(true, why);
        }
        const context = await browserType.launchPersistentContext(join(disk, 'profile'), { ...launchOptions, channel: testInfo.project.use.channel });
        room = {
          context,
          async close() {
            await context.close();
            execFileSync('umount', [disk]);
            rmSync(disk, { recursive: true, force: true });
          },
        };
      } else {
        const browser = await browserType.launch({
          channel: testInfo.project.use.channel,
          ...launchOptions,
          firefoxUserPrefs: { ...launchOptions.firefoxUserPrefs, 'dom.quotaManager.temporaryStorage.fixedLimit': FIREFOX_FIXED_LIMIT_KIB },
        });
        const context = await browser.newContext();
        room = { context, close: () => browser.close() };
      }
      try {
        const page = await room.context.newPage();
        app.workerBuild = 0;
        app.overrides.clear();
        await page.goto(`${app.url}/index.html`);
        await page.waitForFunction(() => (window as unknown as { ready?: boolean }).ready === true);
        await mediaOnASmallDisk({
          driver: pageDriver(page, browserName as 'chromium' | 'firefox'),
          homeserver,
          underLoad,
          note: (text) => {
            testInfo.annotations.push({ type: 'note', description: text });
            console.log(`${browserName}${underLoad ? ' under load' : ''}: ${text}`);
          },
        });
      } finally {
        await room.close();
      }
    });
  }
});
