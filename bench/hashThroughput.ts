/**
 * `npx tsx bench/hashThroughput.ts`: which incremental SHA-256 the worker hashes encrypted
 * attachments with while they download (WebCrypto's digest is one-shot: it needs the whole file
 * in memory). Each candidate hashes 64 MiB in 1 MiB pieces in a module worker, in Chromium and
 * Firefox; WebCrypto's one-shot digest is the reference. The choice is in sw/encrypted/verifyHash.ts.
 */
import { resolve } from 'node:path';
import { startAppServer } from '../tests/browser/appServer.js';
import { ENGINES } from './engines.js';

const ROOT = resolve(import.meta.dirname, '..');
const app = await startAppServer([resolve(ROOT, 'tests/browser/pages'), ROOT]);
try {
  for (const [name, launch] of ENGINES) {
    const browser = await launch();
    const page = await browser.newPage();
    await page.goto(`${app.url}/index.html`);
    const runs = (await page.evaluate(
      () =>
        new Promise((ok, fail) => {
          const worker = new Worker('/bench/pages/hash-worker.js', { type: 'module' });
          worker.onmessage = (event) => ok(event.data);
          worker.onerror = (event) => fail(new Error(event.message));
          worker.postMessage('go');
        }),
    )) as Array<Record<string, number>>;
    for (const key of Object.keys(runs[0]!)) {
      const median = runs.map((r) => r[key]!).sort((a, b) => a - b)[1]!;
      console.log(`${name} ${key}: ${median.toFixed(0)} MiB/s (median of 3)`);
    }
    await browser.close();
  }
} finally {
  await app.close();
}
