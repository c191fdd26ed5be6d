import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { expect, test } from '@playwright/test';

// Keeps `npm run bench` working: its quick mode must complete and report every strategy. No
// time is asserted here; numbers belong to the benchmark's own output. One ratio is: the
// encrypted gallery after a reload, worker against page-side in the same run (see below).

const ROOT = resolve(import.meta.dirname, '../..');

test('the benchmark runs in quick mode and reports every strategy', async ({ browserName }, testInfo) => {
  test.skip(browserName !== 'chromium', 'the benchmark measures in Chromium only (it stops workers and reads their heap through CDP)');
  test.setTimeout(480_000);
  const out = testInfo.outputPath('bench');
  const run = spawnSync('npx', ['tsx', 'bench/run.ts', '--quick', '--out', out], { cwd: ROOT, encoding: 'utf8', timeout: 470_000 });
  expect(run.status, `${run.stdout}\n${run.stderr}`).toBe(0);
  const results = JSON.parse(readFileSync(resolve(out, 'latest.json'), 'utf8'));
  expect(Object.keys(results.gallery.strategies)).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
  expect(Object.keys(results.gallery.ratios)).toEqual(['c/f', 'c/b', 'd/c', 'e/c', 'c/a']);
  for (const run of results.video) {
    // The runs over a slow link and with a stale replay compare the worker with the direct URL only.
    expect(Object.keys(run.rows)).toEqual(run.bytesPerSecond || run.staleReplay ? ['c', 'direct'] : ['c', 'e', 'direct']);
    // After the server's max-age ran out the worker asks (a HEAD), it does not download again.
    if (run.staleReplay) expect(run.rows.c.replayBytes.median, run.engine).toBeLessThan(run.fileBytes / 100);
    // Wherever it ran, the worker's player got to the position it was sent to.
    expect(run.rows.c.reached.median, `${run.engine}, ${run.rangeSupport ? 'Range' : 'no Range'}`).toBeCloseTo(0.9, 2);
  }
  expect(results.memory.streamedBytes).toBeGreaterThan(1_000_000);
  expect(results.sameOrigin.fetches).toBeGreaterThan(0);
  const markdown = readFileSync(resolve(out, 'latest.md'), 'utf8');
  expect(Object.keys(results.encrypted.gallery.ms)).toEqual(['worker', 'page']);
  // Every encrypted image decoded, through the worker, in the page and through the reference worker.
  expect(results.encrypted.gallery.failures).toEqual([]);
  expect(results.encrypted.firefoxGallery.failures).toEqual([]);
  expect(results.encrypted.gallery.reference.ratio.n).toBe(results.encrypted.gallery.ratio.n);
  expect(results.encrypted.video.replayBytes).toBeGreaterThanOrEqual(0);
  // After a reload the worker serves the encrypted gallery from its store, asking nothing of
  // the homeserver (which sends Synapse's day of freshness)...
  expect(results.encrypted.gallery.afterReload.requestsPerImage.worker).toBe(0);
  // ...and must do so well ahead of the page decrypting it again. A loose bound on a ratio of
  // two paths measured in turns in one run, not on a time: faf9e46 met it (0.6-0.7), 352168e's
  // per-image record writes made it 1.0, and nothing else in npm test would have seen that.
  expect(results.encrypted.gallery.afterReload.ratio.median, 'encrypted gallery after a reload, worker / page-side (median of the repetitions)').toBeLessThanOrEqual(0.8);
  for (const heading of ['1. Gallery', '2. Video', '3. Encrypted media', '4. Memory', '5. Requests outside the media paths']) expect(markdown).toContain(heading);
  expect(readFileSync(resolve(out, 'latest.svg'), 'utf8')).toMatch(/^<svg /);
});
