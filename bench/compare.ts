/**
 * `npm run bench -- --against <git ref>`: every row of the quick benchmark for today's code and
 * for the ref's, in turns within one run, and each row's ratio (today / baseline) with its
 * spread over the rounds. What a change on a request's path quotes in its closing note.
 */
import type { BenchResults } from './report.js';
import { stat, type Stat } from './stat.js';
import { VIDEO_STRATEGIES, type VideoRun } from './videoRuns.js';

/** A row this much slower than the baseline (its median ratio) is flagged. */
export const FLAG_RATIO = 1.25;

/** Times (ms) and sizes (bytes, where the row says so) of one run, by row name. */
export type Rows = Map<string, number>;

function videoServer(run: VideoRun): string {
  const range = run.rangeSupport ? 'honours Range' : 'ignores Range';
  if (run.staleReplay) return `${range}, stale replay`;
  return run.bytesPerSecond ? `${range}, ${(run.bytesPerSecond / 1e6).toFixed(0)} MB/s link` : range;
}

/** Every measured row of a benchmark run, as one number each (a median). */
export function rowsOf(r: BenchResults): Rows {
  const rows: Rows = new Map();
  const add = (name: string, s: Stat | number | undefined) => {
    const value = typeof s === 'number' ? s : s?.median;
    if (value !== undefined && value !== null && Number.isFinite(value)) rows.set(name, value);
  };
  for (const [key, s] of Object.entries(r.gallery.strategies)) {
    add(`gallery ${key} (${s.label}): all decoded, ms`, s.ms);
    add(`gallery ${key}: first image, ms`, s.firstMs);
  }
  for (const run of r.video) {
    for (const [key, row] of Object.entries(run.rows)) {
      if (!row) continue;
      const name = `video, ${run.engine}, ${videoServer(run)}, ${VIDEO_STRATEGIES[key as keyof typeof VIDEO_STRATEGIES]?.[1] ?? key}`;
      add(`${name}: metadata, ms`, row.metadataMs);
      add(`${name}: seek, ms`, row.seekMs);
      add(`${name}: replay first frame, ms`, row.replayFirstFrameMs);
      add(`${name}: replay seek, ms`, row.replaySeekMs);
      add(`${name}: sent in all, bytes`, row.sentInAll);
    }
  }
  const e = r.encrypted;
  add('encrypted gallery, worker: first visit, ms', e.gallery.ms.worker);
  add('encrypted gallery, page-side: first visit, ms', e.gallery.ms.page);
  add('encrypted gallery, reference worker: first visit, ms', e.gallery.reference.ms);
  add('encrypted gallery, worker: after a reload, ms', e.gallery.afterReload.ms.worker);
  add('encrypted gallery, page-side: after a reload, ms', e.gallery.afterReload.ms.page);
  add('encrypted gallery, worker: main thread blocked, ms', e.gallery.longTaskMs.worker);
  if (e.firefoxGallery) {
    add('Firefox, encrypted gallery, worker: first visit, ms', e.firefoxGallery.ms.worker);
    add('Firefox, encrypted gallery, page-side: first visit, ms', e.firefoxGallery.ms.page);
    add('Firefox, encrypted gallery, worker: after a reload, ms', e.firefoxGallery.afterReload.ms.worker);
    add('Firefox, encrypted gallery, page-side: after a reload, ms', e.firefoxGallery.afterReload.ms.page);
  }
  add('encrypted video, worker: first frame, ms', e.video.firstFrameMs.worker);
  add('encrypted video, page-side: first frame, ms', e.video.firstFrameMs.page);
  if (e.video.overLink) add('encrypted video over a link, worker: first frame, ms', e.video.overLink.firstFrameMs.worker);
  add('worker heap growth, video stored and replayed, bytes', r.memory.growthBytes);
  add('same-origin fetches with the worker, ms', r.sameOrigin.mms);
  add('same-origin fetches without a worker, ms', r.sameOrigin.none);
  return rows;
}

export interface Comparison {
  ref: string;
  commit: string;
  rounds: number;
  rows: Array<{ name: string; today: Stat; baseline: Stat; ratio: Stat; flagged: boolean }>;
}

/** Each row's medians on both sides and its ratio, round by round (rounds where both sides measured it). */
export function compare(ref: string, commit: string, today: Rows[], baseline: Rows[]): Comparison {
  const names = [...new Set(today.flatMap((rows) => [...rows.keys()]))];
  const rows: Comparison['rows'] = [];
  for (const name of names) {
    const pairs = today.map((rows, i) => [rows.get(name), baseline[i]?.get(name)] as const).filter((p): p is readonly [number, number] => p[0] !== undefined && p[1] !== undefined);
    if (pairs.length === 0) continue;
    // A row at 0 on both sides (bytes sent for a replay) is equal, not a division by zero.
    const ratios = pairs.map(([t, b]) => (b === 0 ? (t === 0 ? 1 : Infinity) : t / b));
    const ratio = stat(ratios);
    rows.push({ name, today: stat(pairs.map((p) => p[0])), baseline: stat(pairs.map((p) => p[1])), ratio, flagged: ratio.median > FLAG_RATIO });
  }
  return { ref, commit, rounds: today.length, rows };
}

const value = (name: string, s: Stat) => (name.endsWith('bytes') ? `${(s.median / 1024 / 1024).toFixed(1)} MB` : `${s.median.toFixed(0)} ms`);

export function renderComparison(c: Comparison, date: string): string {
  const lines = [
    `# Benchmark against ${c.ref} (${c.commit.slice(0, 7)})`,
    '',
    `${date}. Every row of the quick benchmark (\`npm run bench -- --quick\`), for today's worker and page module and for those of ${c.ref}, built from its own sources; ${c.rounds} rounds, the two sides taking turns at going first. Each cell is the median over the rounds of the row's own median; the ratio is today / baseline, round by round: median (min–max). Rows of paths without our code (no worker, the reference workers, the direct URL) measure the same thing twice: their ratios show the run's noise. A ratio above ${FLAG_RATIO} is flagged **slower**. Quick sizes are small: read a flag as a question for the full benchmark, not as a verdict.`,
    '',
    `| row | today | ${c.ref} | today / ${c.ref} | |`,
    '| --- | --- | --- | --- | --- |',
  ];
  for (const row of c.rows) {
    const ratio = Number.isFinite(row.ratio.median) ? `${row.ratio.median.toFixed(2)} (${row.ratio.min.toFixed(2)}–${row.ratio.max.toFixed(2)})` : '—';
    lines.push(`| ${row.name} | ${value(row.name, row.today)} | ${value(row.name, row.baseline)} | ${ratio} | ${row.flagged ? '**slower**' : ''} |`);
  }
  const flagged = c.rows.filter((row) => row.flagged);
  lines.push('', flagged.length === 0 ? `No row is more than ${FLAG_RATIO} × slower than ${c.ref}.` : `${flagged.length} row(s) more than ${FLAG_RATIO} × slower than ${c.ref}: ${flagged.map((row) => row.name).join('; ')}.`, '');
  return lines.join('\n');
}
