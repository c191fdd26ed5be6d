import type { Browser, BrowserContext, Page } from '@playwright/test';
import { startHomeserver, type Homeserver } from '../demo/homeserver/server.js';
import type { AppServer } from '../tests/browser/appServer.js';
import type { Stat } from './stat.js';

/**
 * The video part of the benchmark: open a video, seek to 90 %, let every download end, reload
 * the page in the same browser profile and do it again. Bytes are what the homeserver wrote to
 * its sockets, split by phase; times are what the page waited for.
 */

export const VIDEO_STRATEGIES = {
  c: ['mms-warm', 'c: matrix-media-sw'],
  e: ['ask-page', 'e: ask-page worker (drops Range)'],
  direct: ['none', 'direct unauthenticated URL'],
} as const;
export type VideoStrategy = keyof typeof VIDEO_STRATEGIES;

/** Where the video is sought to, as a share of its duration. */
export const SEEK_TO = 0.9;

/** Whether a row's player got to the position asked for (it may round to a frame, not to 0). */
export const didSeek = (row: VideoRow) => (row.reached?.median ?? NaN) >= SEEK_TO - 0.01;

export interface VideoRow {
  metadataMs: Stat;
  /** From setting currentTime to playable there. */
  seekMs: Stat;
  /**
   * Where the player was once the seek ended, as a share of the duration: a player that cannot
   * seek (the server ignores Range, no store) goes back to 0 in Chromium.
   */
  reached: Stat;
  /** Bytes sent for requests made after the seek, before the reload. */
  seekBytes: Stat;
  seekShare: number;
  /** Bytes sent for the first play and seek, every download run to its end. */
  firstBytes: Stat;
  /** After a reload: bytes sent (GET and HEAD), the time to the first frame, and the seek's time. */
  replayBytes: Stat;
  replayFirstFrameMs: Stat;
  replaySeekMs: Stat;
  /** First play, seek, reload, play and seek again. */
  sentInAll: Stat;
  /** What went wrong where the player gave up (no metadata or no seek within 15 s). */
  errors: string[];
}

export interface VideoRun {
  engine: string;
  rangeSupport: boolean;
  /** The homeserver's sending rate, as over a real link; absent: loopback, as fast as it goes. */
  bytesPerSecond?: number;
  /** The server sent `max-age=1` and the replay came after it ran out: the worker asks before serving its copy. */
  staleReplay?: boolean;
  fileBytes: number;
  rows: Partial<Record<VideoStrategy, VideoRow>>;
}

type StatOf = (values: number[]) => Stat;

const mediaGets = (hs: Homeserver, from: number, to = hs.log.length) =>
  hs.log.slice(from, to).filter((r) => r.method === 'GET' && r.path.includes('/media/'));
/** GETs and HEADs: a stale file's recheck is a HEAD. */
const mediaAsks = (hs: Homeserver, from: number) => hs.log.slice(from).filter((r) => (r.method === 'GET' || r.method === 'HEAD') && r.path.includes('/media/'));
const sum = (entries: Array<{ bytes: number }>) => entries.reduce((total, r) => total + r.bytes, 0);

/**
 * Waits until every media response the homeserver began has closed (the worker's store download
 * included), at most 20 s: Firefox's media element keeps a paused response open until its page
 * goes. Bytes are summed after the profile is closed, when every response has.
 */
async function settle(hs: Homeserver): Promise<void> {
  const deadline = Date.now() + 20_000;
  await new Promise((r) => setTimeout(r, 300));
  while (Date.now() < deadline && mediaGets(hs, 0).some((r) => !r.closed)) await new Promise((r) => setTimeout(r, 100));
  await new Promise((r) => setTimeout(r, 300));
}

async function openBenchPage(page: Page, app: AppServer): Promise<void> {
  await page.goto(`${app.url}/bench/page.html`);
  await page.waitForFunction(() => (window as unknown as { ready?: boolean }).ready === true);
}

export interface VideoRunOptions {
  /** The homeserver's sending rate (bytes per second); absent: loopback speed. */
  bytesPerSecond?: number;
  /** Serve the video with `max-age=1` and reload only after it ran out. */
  staleReplay?: boolean;
}

export async function videoRun(
  browser: Browser,
  engine: string,
  app: AppServer,
  rangeSupport: boolean,
  data: Buffer,
  strategies: VideoStrategy[],
  reps: number,
  stat: StatOf,
  { bytesPerSecond = 0, staleReplay = false }: VideoRunOptions = {},
): Promise<VideoRun> {
  const hs = await startHomeserver({
    rangeSupport,
    freezeNewMedia: false,
    mediaBytesPerSecond: bytesPerSecond,
    ...(staleReplay ? { mediaCacheControl: 'public, max-age=1' } : {}),
  });
  try {
    const token = hs.register('bench', 'pw');
    const mxc = hs.addMedia(data, 'video/webm', 'big.webm');
    const url = `${hs.url}/_matrix/media/v3/download/${mxc.slice(6)}`;
    const rows: VideoRun['rows'] = {};
    for (const key of strategies) {
      const [setup] = VIDEO_STRATEGIES[key];
      const values = { metadata: [] as number[], seek: [] as number[], reached: [] as number[], seekBytes: [] as number[], first: [] as number[], replay: [] as number[], replayFirstFrame: [] as number[], replaySeek: [] as number[], all: [] as number[] };
      const errors: string[] = [];
      for (let rep = 0; rep < reps; rep++) {
        // A fresh profile per repetition: its own HTTP cache, worker and store.
        const context: BrowserContext = await browser.newContext();
        const page = await context.newPage();
        await openBenchPage(page, app);
        await page.evaluate(([s, h, t]) => (window as any).setupStrategy(s, h, t), [setup, hs.url, token] as const);
        const from = hs.log.length;
        const first = await page.evaluate(([u, to]) => (window as any).videoSeek(u, to), [url, SEEK_TO] as const);
        await settle(hs);
        if (staleReplay) await new Promise((r) => setTimeout(r, 1_100));
        const reloadAt = hs.log.length;
        await openBenchPage(page, app);
        await page.evaluate(([s, h, t]) => (window as any).setupStrategy(s, h, t), [setup, hs.url, token] as const);
        const replay = await page.evaluate(([u, to]) => (window as any).videoSeek(u, to), [url, SEEK_TO] as const);
        await settle(hs);
        await context.close();
        // The server sees the last sockets close a moment later.
        for (let i = 0; i < 50 && mediaGets(hs, from).some((r) => !r.closed); i++) await new Promise((r) => setTimeout(r, 100));
        for (const result of [first, replay]) if (result.error) errors.push(result.error);
        values.metadata.push(first.metadataMs);
        values.seek.push(first.seekMs);
        values.reached.push(first.reached ?? NaN);
        values.seekBytes.push(sum(mediaGets(hs, from, reloadAt).filter((r) => r.time >= first.seekAt)));
        values.first.push(sum(mediaGets(hs, from, reloadAt)));
        values.replay.push(sum(mediaAsks(hs, reloadAt)));
        values.replayFirstFrame.push(replay.firstFrameMs);
        values.replaySeek.push(replay.seekMs);
        values.all.push(sum(mediaGets(hs, from)));
      }
      const seekBytes = stat(values.seekBytes);
      // A run whose player gave up has no time to count.
      const times = (xs: number[]) => stat(xs.some(Number.isFinite) ? xs.filter(Number.isFinite) : [NaN]);
      rows[key] = {
        errors,
        metadataMs: times(values.metadata),
        seekMs: times(values.seek),
        reached: times(values.reached),
        seekBytes,
        seekShare: seekBytes.median / data.length,
        firstBytes: stat(values.first),
        replayBytes: stat(values.replay),
        replayFirstFrameMs: times(values.replayFirstFrame),
        replaySeekMs: times(values.replaySeek),
        sentInAll: stat(values.all),
      };
    }
    return { engine, rangeSupport, ...(bytesPerSecond > 0 ? { bytesPerSecond } : {}), ...(staleReplay ? { staleReplay } : {}), fileBytes: data.length, rows };
  } finally {
    await hs.close();
  }
}
