/**
 * `npm run bench`: every way to load authenticated media, side by side in one run, in Debian's
 * Chromium, against the embedded homeserver on another origin on loopback. Medians over
 * repetitions; ratios computed pair by pair within a repetition. Writes a markdown table, JSON
 * and an SVG chart. `--quick` runs small sizes in minutes (the test suite does, to keep this
 * working) and writes to a temporary folder; `--out DIR` chooses where the results go (default
 * bench/results). The video runs also in Firefox ESR, against the server that ignores Range.
 * `--against <git ref>` runs the quick rows for today and for that ref in turns, `--rounds N`
 * times each (3 by default), and writes bench/results/against-<ref>.md (see compare.ts).
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, firefox, type Browser, type BrowserContext, type Page } from '@playwright/test';
import { randomBytes } from 'node:crypto';
import { encodePng } from '../demo/homeserver/png.js';
import { startHomeserver, type Homeserver } from '../demo/homeserver/server.js';
import { startAppServer, type AppServer } from '../tests/browser/appServer.js';
import { renderReport, type BenchResults } from './report.js';
import { stat } from './stat.js';
import { largeVideo } from './video.js';
import { encryptedGallery, encryptedRuns, type GalleryResults } from './encryptedRuns.js';
import { VIDEO_STRATEGIES, videoRun, type VideoStrategy } from './videoRuns.js';
import { workerTarget } from './workerHeap.js';
import { buildBaseline } from './baseline.js';
import { compare, renderComparison, rowsOf, type Rows } from './compare.js';

const ROOT = resolve(import.meta.dirname, '..');
/** The value after `--name`, if given. */
function option(name: string): string | undefined {
  const index = process.argv.indexOf(name);
  if (index < 0) return undefined;
  const value = process.argv[index + 1];
  if (value === undefined || value.startsWith('--')) throw new Error(`${name} needs a value`);
  return value;
}
const against = option('--against');
const rounds = Number(option('--rounds') ?? 3);
if (!(Number.isInteger(rounds) && rounds >= 1)) throw new Error('--rounds must be a whole number of at least 1');
// A comparison runs the quick benchmark's rows: both sides, several times over, in one run.
const quick = process.argv.includes('--quick') || against !== undefined;
const outOption = option('--out');
// A quick run is not for quoting: it never replaces the committed results unless told where to go.
const outDir = outOption ? resolve(ROOT, outOption) : quick && !against ? mkdtempSync(join(tmpdir(), 'mms-bench-')) : resolve(ROOT, 'bench/results');

/**
 * `encryptedImages`: the encrypted gallery's size. In quick mode it stays large enough for its
 * ratio after a reload to be stable, because `npm test` checks that ratio (tests/browser/bench.spec.ts).
 */
const SIZES = quick
  ? { images: 20, encryptedImages: 120, reps: 2, videoMb: 0, streamMb: 0, sameOrigin: 30 }
  : { images: 300, encryptedImages: 300, reps: 5, videoMb: 200, streamMb: 200, sameOrigin: 300 };

/** The homeserver's rate for the video run over a real link: 100 MB/s, a fast 800 Mbit/s line. */
const LINK_BYTES_PER_SECOND = 100e6;

export const GALLERY_STRATEGIES = {
  a: 'no worker, unauthenticated legacy URLs (pre-1.11 floor)',
  b: 'no worker, page fetch with the header, blob URLs',
  c: 'matrix-media-sw, worker running',
  d: 'matrix-media-sw, worker stopped before the run (cold start)',
  e: 'reference worker asking the page for the token per request',
  f: 'ideal worker: hard-coded token, URL swap only',
} as const;
type Strategy = keyof typeof GALLERY_STRATEGIES;

/** A ~20 KB PNG: random pixels do not compress, so the size is what it says. */
function noisyPng(seed: number): Buffer {
  const side = 72;
  const pixels = new Uint8Array(randomBytes(side * side * 4));
  for (let i = 3; i < pixels.length; i += 4) pixels[i] = 255;
  pixels[0] = seed & 0xff;
  return encodePng(side, side, pixels);
}

async function newPage(browser: Browser, app: AppServer): Promise<{ context: BrowserContext; page: Page }> {
  // A fresh context per run: its own HTTP cache, preflight cache and worker registrations.
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${app.url}/bench/page.html`);
  await page.waitForFunction(() => (window as unknown as { ready?: boolean }).ready === true);
  return { context, page };
}

async function stopWorkers(page: Page): Promise<void> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('ServiceWorker.enable');
  await cdp.send('ServiceWorker.stopAllWorkers');
  await cdp.detach();
}

async function gallery(browser: Browser, app: AppServer, hs: Homeserver, token: string, mxcs: string[]) {
  const legacyUrls = mxcs.map((m) => `${hs.url}/_matrix/media/v3/download/${m.slice(6)}`);
  const v1Urls = mxcs.map((m) => `${hs.url}/_matrix/client/v1/media/download/${m.slice(6)}`);
  const times: Record<Strategy, number[]> = { a: [], b: [], c: [], d: [], e: [], f: [] };
  const firsts: Record<Strategy, number[]> = { a: [], b: [], c: [], d: [], e: [], f: [] };
  const requests: Record<Strategy, number[]> = { a: [], b: [], c: [], d: [], e: [], f: [] };
  const ratios: Record<string, number[]> = { 'c/f': [], 'c/b': [], 'd/c': [], 'e/c': [], 'c/a': [] };
  const setupName: Record<Strategy, string> = { a: 'none', b: 'none', c: 'mms-warm', d: 'mms-cold', e: 'ask-page', f: 'ideal' };
  for (let rep = 0; rep < SIZES.reps; rep++) {
    const round = {} as Record<Strategy, number>;
    for (const strategy of Object.keys(GALLERY_STRATEGIES) as Strategy[]) {
      const { context, page } = await newPage(browser, app);
      await page.evaluate(([s, h, t]) => (window as any).setupStrategy(s, h, t), [setupName[strategy], hs.url, token] as const);
      if (strategy === 'd') await stopWorkers(page);
      const from = hs.log.length;
      const urls = strategy === 'b' ? v1Urls : legacyUrls;
      const run: { ms: number; firstMs: number } = await page.evaluate(([list, blob]) => (window as any).gallery(list, blob), [urls, strategy === 'b'] as const);
      round[strategy] = run.ms;
      times[strategy].push(run.ms);
      firsts[strategy].push(run.firstMs);
      requests[strategy].push(hs.log.slice(from).filter((r) => r.path.includes('/media/')).length / urls.length);
      await context.close();
    }
    ratios['c/f']!.push(round.c / round.f);
    ratios['c/b']!.push(round.c / round.b);
    ratios['d/c']!.push(round.d / round.c);
    ratios['e/c']!.push(round.e / round.c);
    ratios['c/a']!.push(round.c / round.a);
  }
  return {
    images: mxcs.length,
    strategies: Object.fromEntries(
      (Object.keys(GALLERY_STRATEGIES) as Strategy[]).map((s) => [s, { label: GALLERY_STRATEGIES[s], ms: stat(times[s]), firstMs: stat(firsts[s]), requestsPerImage: stat(requests[s]).median }]),
    ),
    ratios: Object.fromEntries(Object.entries(ratios).map(([k, v]) => [k, stat(v)])),
  };
}

/**
 * Heap of the worker's JS (CDP on the service worker target) while a video of `data` is opened
 * and sought against a server that ignores Range, so the worker downloads and stores it whole,
 * then played again from the store after a reload.
 */
async function workerMemory(browser: Browser, app: AppServer, data: Buffer) {
  const hs = await startHomeserver({ rangeSupport: false, freezeNewMedia: false });
  try {
    const token = hs.register('bench', 'pw');
    const mxc = hs.addMedia(data, 'video/webm', 'big.webm');
    const url = `${hs.url}/_matrix/media/v3/download/${mxc.slice(6)}`;
    const { context, page } = await newPage(browser, app);
    await page.evaluate(([s, h, t]) => (window as any).setupStrategy(s, h, t), ['mms-warm', hs.url, token] as const);
    const send = await workerTarget(browser);
    // The JS heap, and the array buffers beside it (garbage among them until collected).
    const heap = async () => {
      const result = await send('Runtime.getHeapUsage');
      return { heap: result.usedSize, all: result.usedSize + (result.backingStorageSize ?? 0) };
    };
    const baseline = await heap();
    let peak = baseline.heap;
    let peakAll = baseline.all;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const now = await heap();
        peak = Math.max(peak, now.heap);
        peakAll = Math.max(peakAll, now.all);
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    const openAndSeek = () => page.evaluate(([u]) => (window as any).videoSeek(u, 0.9), [url] as const);
    await openAndSeek();
    // Until the worker's download has stored the whole file.
    while (hs.log.some((r) => r.method === 'GET' && r.path.includes('/media/') && !r.closed)) await new Promise((r) => setTimeout(r, 100));
    const downloaded = hs.log.filter((r) => r.method === 'GET' && r.path.includes('/media/')).reduce((total, r) => total + r.bytes, 0);
    await page.reload();
    await page.waitForFunction(() => (window as unknown as { ready?: boolean }).ready === true);
    await page.evaluate(([s, h, t]) => (window as any).setupStrategy(s, h, t), ['mms-warm', hs.url, token] as const);
    await openAndSeek();
    sampling = false;
    await sampler;
    await context.close();
    return { streamedBytes: downloaded, baselineBytes: baseline.heap, peakBytes: peak, growthBytes: peak - baseline.heap, withBuffersGrowthBytes: peakAll - baseline.all };
  } finally {
    await hs.close();
  }
}

async function sameOrigin(browser: Browser, app: AppServer, hs: Homeserver, token: string) {
  const times: Record<'none' | 'mms', number[]> = { none: [], mms: [] };
  const ratios: number[] = [];
  for (let rep = 0; rep < SIZES.reps; rep++) {
    const round: Record<string, number> = {};
    for (const key of ['none', 'mms'] as const) {
      const { context, page } = await newPage(browser, app);
      await page.evaluate(([s, h, t]) => (window as any).setupStrategy(s, h, t), [key === 'mms' ? 'mms-warm' : 'none', hs.url, token] as const);
      round[key] = await page.evaluate(([n]) => (window as any).sameOrigin(n), [SIZES.sameOrigin] as const);
      times[key].push(round[key]!);
      await context.close();
    }
    ratios.push(round.mms! / round.none!);
  }
  return { fetches: SIZES.sameOrigin, none: stat(times.none), mms: stat(times.mms), ratio: stat(ratios) };
}

/** Every section of the benchmark, once, with the worker and page module that `app` serves. */
async function measure(browser: Browser, app: AppServer, hs: Homeserver, token: string, mxcs: string[], videoData: Buffer): Promise<BenchResults> {
  const started = Date.now();
  console.log(`gallery: ${SIZES.images} images × 6 strategies × ${SIZES.reps} repetitions…`);
  const galleryResults = await gallery(browser, app, hs, token, mxcs);
  console.log(`video: ${(videoData.length / 1e6).toFixed(0)} MB, seek to 90 %, reload, again…`);
  const videoReps = Math.max(1, Math.min(3, SIZES.reps));
  const all = Object.keys(VIDEO_STRATEGIES) as VideoStrategy[];
  const videoResults = [
    await videoRun(browser, 'Chromium', app, true, videoData, all, videoReps, stat),
    await videoRun(browser, 'Chromium', app, false, videoData, all, videoReps, stat),
    // Loopback outruns the worker's store; a fast real link (800 Mbit/s) does not.
    await videoRun(browser, 'Chromium', app, false, videoData, ['c', 'direct'], videoReps, stat, { bytesPerSecond: LINK_BYTES_PER_SECOND }),
    // The replay once the server's max-age has run out: the worker asks before it serves its copy.
    await videoRun(browser, 'Chromium', app, false, videoData, ['c', 'direct'], videoReps, stat, { staleReplay: true }),
  ];
  const encryptedImages = Array.from({ length: SIZES.encryptedImages }, (_, i) => noisyPng(i));
  let firefoxGallery: GalleryResults;
  const firefoxBrowser = await firefox.launch({ channel: 'moz-firefox', executablePath: '/usr/bin/firefox-esr' } as Parameters<typeof firefox.launch>[0]);
  try {
    videoResults.push(await videoRun(firefoxBrowser, 'Firefox', app, false, videoData, all, videoReps, stat));
    videoResults.push(await videoRun(firefoxBrowser, 'Firefox', app, false, videoData, ['c', 'direct'], videoReps, stat, { staleReplay: true }));
    console.log(`encrypted gallery in Firefox: ${SIZES.encryptedImages} images × 3 paths × ${SIZES.reps} repetitions…`);
    firefoxGallery = await encryptedGallery(firefoxBrowser, app, encryptedImages, SIZES.reps, stat);
  } finally {
    await firefoxBrowser.close();
  }
  console.log(`encrypted: ${SIZES.encryptedImages} images and the video, in the worker and in the page…`);
  const encrypted = { ...(await encryptedRuns(browser, app, encryptedImages, videoData, SIZES.reps, stat, LINK_BYTES_PER_SECOND)), firefoxGallery };
  console.log('memory: a video downloaded, stored and played again through the worker…');
  const memory = await workerMemory(browser, app, videoData);
  console.log(`requests outside the media paths: ${SIZES.sameOrigin} same-origin fetches…`);
  const outside = await sameOrigin(browser, app, hs, token);
  return {
    date: new Date().toISOString(),
    quick,
    browser: `Chromium ${browser.version()} (video also in Firefox ESR)`,
    durationS: Math.round((Date.now() - started) / 1000),
    gallery: galleryResults,
    video: videoResults,
    encrypted,
    memory,
    sameOrigin: outside,
  };
}

/** The pages and the worker served from `dist` (today's, or a baseline's), on an origin of their own. */
const appServing = (dist: string) => startAppServer([resolve(ROOT, 'tests/browser/pages'), dist, ROOT]);

async function main(): Promise<void> {
  // Built first: a ref that does not build fails the run before anything is measured.
  const baseline = against === undefined ? undefined : buildBaseline(ROOT, against);
  const app = await appServing(resolve(ROOT, 'dist'));
  const baselineApp = baseline ? await appServing(baseline.dist) : undefined;
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--disable-gpu', '--disable-quic'] });
  const hs = await startHomeserver({ freezeNewMedia: false });
  try {
    const token = hs.register('bench', 'pw');
    const mxcs = Array.from({ length: SIZES.images }, (_, i) => hs.addMedia(noisyPng(i), 'image/png'));
    const videoData = quick ? readFileSync(resolve(ROOT, 'demo/media/sample-video.webm')) : largeVideo(SIZES.videoMb);
    mkdirSync(outDir, { recursive: true });
    if (baseline && baselineApp) {
      const sides = { today: [] as Rows[], baseline: [] as Rows[] };
      for (let round = 0; round < rounds; round++) {
        // Each side takes its turn at going first: the machine's pace drifts within a run.
        for (const side of round % 2 === 0 ? (['today', 'baseline'] as const) : (['baseline', 'today'] as const)) {
          console.log(`\nround ${round + 1} of ${rounds}: ${side === 'today' ? 'today' : `${against} (${baseline.commit.slice(0, 7)})`}`);
          sides[side].push(rowsOf(await measure(browser, side === 'today' ? app : baselineApp, hs, token, mxcs, videoData)));
        }
      }
      const markdown = renderComparison(compare(against!, baseline.commit, sides.today, sides.baseline), new Date().toISOString());
      const file = resolve(outDir, `against-${against!.replace(/[^A-Za-z0-9._-]/g, '_')}.md`);
      writeFileSync(file, markdown);
      console.log(`\n${markdown}`);
      console.log(`Written: ${file}`);
      return;
    }
    const results = await measure(browser, app, hs, token, mxcs, videoData);
    const { markdown, svg } = renderReport(results);
    writeFileSync(resolve(outDir, 'latest.json'), `${JSON.stringify(results, null, 2)}\n`);
    writeFileSync(resolve(outDir, 'latest.md'), markdown);
    writeFileSync(resolve(outDir, 'latest.svg'), svg);
    console.log(`\n${markdown}`);
    console.log(`Written: ${outDir}/latest.{md,json,svg}`);
  } finally {
    await browser.close();
    await hs.close();
    await app.close();
    await baselineApp?.close();
    baseline?.remove();
  }
}

await main();
