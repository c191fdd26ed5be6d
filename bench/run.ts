/**
 * `npm run bench`: every way to load authenticated media, side by side in one run, in Debian's
 * Chromium, against the embedded homeserver on another origin on loopback. Medians over
 * repetitions; ratios computed pair by pair within a repetition. Writes a markdown table, JSON
 * and an SVG chart. `--quick` runs tiny sizes in seconds (the test suite does, to keep this
 * working); `--out DIR` chooses where the results go (default bench/results).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { chromium, type Browser, type BrowserContext, type CDPSession, type Page } from '@playwright/test';
import { randomBytes } from 'node:crypto';
import { encodePng } from '../demo/homeserver/png.js';
import { startHomeserver, type Homeserver } from '../demo/homeserver/server.js';
import { startAppServer, type AppServer } from '../tests/browser/appServer.js';
import { renderReport, type BenchResults, type Stat } from './report.js';
import { largeVideo } from './video.js';

const ROOT = resolve(import.meta.dirname, '..');
const quick = process.argv.includes('--quick');
const outIndex = process.argv.indexOf('--out');
const outDir = resolve(ROOT, outIndex > 0 ? process.argv[outIndex + 1]! : 'bench/results');

const SIZES = quick
  ? { images: 20, reps: 2, videoMb: 0, streamMb: 0, sameOrigin: 30 }
  : { images: 300, reps: 5, videoMb: 200, streamMb: 200, sameOrigin: 300 };

export const GALLERY_STRATEGIES = {
  a: 'no worker, unauthenticated legacy URLs (pre-1.11 floor)',
  b: 'no worker, page fetch with the header, blob URLs',
  c: 'matrix-media-sw, worker running',
  d: 'matrix-media-sw, worker stopped before the run (cold start)',
  e: 'reference worker asking the page for the token per request',
  f: 'ideal worker: hard-coded token, URL swap only',
} as const;
type Strategy = keyof typeof GALLERY_STRATEGIES;

function stat(values: number[]): Stat {
  const sorted = [...values].sort((x, y) => x - y);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median, min: sorted[0]!, max: sorted.at(-1)!, n: values.length };
}

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
      round[strategy] = await page.evaluate(([list, blob]) => (window as any).gallery(list, blob), [urls, strategy === 'b'] as const);
      times[strategy].push(round[strategy]);
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
      (Object.keys(GALLERY_STRATEGIES) as Strategy[]).map((s) => [s, { label: GALLERY_STRATEGIES[s], ms: stat(times[s]), requestsPerImage: stat(requests[s]).median }]),
    ),
    ratios: Object.fromEntries(Object.entries(ratios).map(([k, v]) => [k, stat(v)])),
  };
}

async function video(browser: Browser, app: AppServer, rangeSupport: boolean, data: Buffer) {
  const hs = await startHomeserver({ rangeSupport, freezeNewMedia: false });
  try {
    const token = hs.register('bench', 'pw');
    const mxc = hs.addMedia(data, 'video/webm', 'big.webm');
    const url = `${hs.url}/_matrix/media/v3/download/${mxc.slice(6)}`;
    const rows: Record<string, { metadataMs: Stat; seekMs: Stat; seekBytes: Stat; seekShare: number; totalBytes: Stat }> = {};
    for (const [key, setup] of [['c', 'mms-warm'], ['e', 'ask-page'], ['direct', 'none']] as const) {
      const metadata: number[] = [];
      const seek: number[] = [];
      const bytes: number[] = [];
      const total: number[] = [];
      for (let rep = 0; rep < Math.max(1, Math.min(3, SIZES.reps)); rep++) {
        const { context, page } = await newPage(browser, app);
        await page.evaluate(([s, h, t]) => (window as any).setupStrategy(s, h, t), [setup, hs.url, token] as const);
        const from = hs.log.length;
        const result = await page.evaluate(([u]) => (window as any).videoSeek(u, 0.9), [url] as const);
        await new Promise((r) => setTimeout(r, 500));
        await context.close();
        await new Promise((r) => setTimeout(r, 300));
        metadata.push(result.metadataMs);
        seek.push(result.seekMs);
        const gets = hs.log.slice(from).filter((r) => r.method === 'GET' && r.path.includes('/media/'));
        bytes.push(gets.filter((r) => r.time >= result.seekAt).reduce((sum, r) => sum + r.bytes, 0));
        total.push(gets.reduce((sum, r) => sum + r.bytes, 0));
      }
      const seekBytes = stat(bytes);
      rows[key] = { metadataMs: stat(metadata), seekMs: stat(seek), seekBytes, seekShare: seekBytes.median / data.length, totalBytes: stat(total) };
    }
    return { rangeSupport, fileBytes: data.length, rows };
  } finally {
    await hs.close();
  }
}

/** Heap of the worker's JS while `mb` MB stream through it (CDP on the service worker target). */
async function workerMemory(browser: Browser, app: AppServer, data: Buffer) {
  const hs = await startHomeserver({ freezeNewMedia: false });
  try {
    const token = hs.register('bench', 'pw');
    const mxc = hs.addMedia(data, 'video/webm', 'big.webm');
    const { context, page } = await newPage(browser, app);
    await page.evaluate(([s, h, t]) => (window as any).setupStrategy(s, h, t), ['mms-warm', hs.url, token] as const);
    const cdp: CDPSession = await browser.newBrowserCDPSession();
    const { targetInfos } = (await cdp.send('Target.getTargets')) as { targetInfos: Array<{ targetId: string; type: string; url: string }> };
    const target = targetInfos.find((t) => t.type === 'service_worker' && t.url.endsWith('/matrix-media-sw.js'));
    if (!target) throw new Error('no service worker target to measure');
    const { sessionId } = (await cdp.send('Target.attachToTarget', { targetId: target.targetId, flatten: false })) as { sessionId: string };
    let nextId = 1;
    const pending = new Map<number, (value: { usedSize: number }) => void>();
    cdp.on('Target.receivedMessageFromTarget', (event: { message: string }) => {
      const message = JSON.parse(event.message) as { id?: number; result?: { usedSize: number } };
      if (message.id !== undefined) pending.get(message.id)?.(message.result!);
    });
    const heap = () =>
      new Promise<number>((resolveHeap) => {
        const id = nextId++;
        pending.set(id, (result) => resolveHeap(result.usedSize));
        void cdp.send('Target.sendMessageToTarget', { sessionId, message: JSON.stringify({ id, method: 'Runtime.getHeapUsage' }) });
      });
    const baseline = await heap();
    let peak = baseline;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        peak = Math.max(peak, await heap());
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    const streamed = await page.evaluate(([u]) => (window as any).stream(u), [`${hs.url}/_matrix/media/v3/download/${mxc.slice(6)}`] as const);
    sampling = false;
    await sampler;
    await context.close();
    return { streamedBytes: streamed as number, baselineBytes: baseline, peakBytes: peak, growthBytes: peak - baseline };
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

async function main(): Promise<void> {
  const app = await startAppServer([resolve(ROOT, 'tests/browser/pages'), resolve(ROOT, 'dist'), ROOT]);
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--disable-gpu', '--disable-quic'] });
  const hs = await startHomeserver({ freezeNewMedia: false });
  const started = Date.now();
  try {
    const token = hs.register('bench', 'pw');
    const mxcs = Array.from({ length: SIZES.images }, (_, i) => hs.addMedia(noisyPng(i), 'image/png'));
    console.log(`gallery: ${SIZES.images} images × 6 strategies × ${SIZES.reps} repetitions…`);
    const galleryResults = await gallery(browser, app, hs, token, mxcs);
    const videoData = quick ? readFileSync(resolve(ROOT, 'demo/media/sample-video.webm')) : largeVideo(SIZES.videoMb);
    console.log(`video: ${(videoData.length / 1e6).toFixed(0)} MB, seek to 90 %…`);
    const videoResults = [await video(browser, app, true, videoData), await video(browser, app, false, videoData)];
    console.log('memory: streaming through the worker…');
    const memory = await workerMemory(browser, app, videoData);
    console.log(`requests outside the media paths: ${SIZES.sameOrigin} same-origin fetches…`);
    const outside = await sameOrigin(browser, app, hs, token);
    const results: BenchResults = {
      date: new Date().toISOString(),
      quick,
      browser: `Chromium ${browser.version()}`,
      durationS: 0,
      gallery: galleryResults,
      video: videoResults,
      memory,
      sameOrigin: outside,
    };
    results.durationS = Math.round((Date.now() - started) / 1000);
    mkdirSync(outDir, { recursive: true });
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
  }
}

await main();
