/** The benchmark's outputs: a markdown table with the targets checked, and an SVG bar chart. */
import type { EncryptedResults } from './encryptedRuns.js';
import type { Stat } from './stat.js';
import { SEEK_TO, VIDEO_STRATEGIES, didSeek, type VideoRow, type VideoRun, type VideoStrategy } from './videoRuns.js';

export interface BenchResults {
  date: string;
  quick: boolean;
  browser: string;
  durationS: number;
  gallery: {
    images: number;
    strategies: Record<string, { label: string; ms: Stat; firstMs: Stat; requestsPerImage: number }>;
    ratios: Record<string, Stat>;
  };
  video: VideoRun[];
  encrypted: EncryptedResults;
  memory: { streamedBytes: number; baselineBytes: number; peakBytes: number; growthBytes: number; withBuffersGrowthBytes: number };
  sameOrigin: { fetches: number; none: Stat; mms: Stat; ratio: Stat };
}

// NaN (a player that gave up) becomes null in JSON.
const ms = (s: Stat) => (Number.isFinite(s.median) && s.median !== null ? `${s.median.toFixed(0)} ms (${s.min.toFixed(0)}–${s.max.toFixed(0)})` : '—');
const ratio = (s: Stat) => `${s.median.toFixed(2)} (${s.min.toFixed(2)}–${s.max.toFixed(2)})`;
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
const pct = (share: number) => `${Math.round(share * 100)} %`;

interface Target {
  what: string;
  measured: string;
  met: boolean;
}

/** The server column of the video table. */
function serverLabel(run: VideoRun): string {
  const range = run.rangeSupport ? 'honours Range' : 'ignores Range (as Synapse)';
  if (run.staleReplay) return `${range}, max-age=1: the replay comes after it ran out`;
  return run.bytesPerSecond ? `${range}, over a ${(run.bytesPerSecond / 1e6).toFixed(0)} MB/s link` : range;
}

/** The store's targets, per engine, against the server that ignores Range. */
function storeTargets(r: BenchResults): Target[] {
  const out: Target[] = [];
  for (const run of r.video.filter((v) => !v.rangeSupport)) {
    const c = run.rows.c;
    const direct = run.rows.direct;
    if (!c || !direct) continue;
    if (run.staleReplay) {
      // A stale copy costs one recheck, not a download.
      const share = c.replayBytes.median / run.fileBytes;
      out.push({
        what: `${run.engine}, the replay after the server's max-age ran out: sent ≤ 1 % of the file (a recheck, not a download)`,
        measured: `${(c.replayBytes.median / 1e3).toFixed(1)} kB (${(share * 100).toFixed(3)} %); first frame in ${ms(c.replayFirstFrameMs)} (the direct URL: ${mb(direct.replayBytes.median)}, ${ms(direct.replayFirstFrameMs)})`,
        met: share <= 0.01,
      });
      continue;
    }
    const share = c.sentInAll.median / run.fileBytes;
    const workerSeek = didSeek(c) ? `the worker: at ${pct(SEEK_TO)} in ${c.seekMs.median.toFixed(0)} ms` : `the worker did not get to ${pct(SEEK_TO)}`;
    // What the direct URL does instead of seeking, when it cannot.
    const directFailed = !Number.isFinite(direct.seekMs.median)
      ? `never became playable after the seek (${[...new Set(direct.errors)].join('; ')})`
      : !didSeek(direct)
        ? `went back to ${pct(direct.reached.median)} instead`
        : undefined;
    if (run.bytesPerSecond) {
      // The least any player needs when the server ignores Range: the link bringing every byte before the position.
      const linkMs = (run.fileBytes * SEEK_TO * 1000) / run.bytesPerSecond;
      const ratio = c.seekMs.median / linkMs;
      out.push({
        what: `${run.engine}, ${serverLabel(run)}: time until playable at ${pct(SEEK_TO)} ≤ 1.2 × the time the link takes to bring the bytes before it (${linkMs.toFixed(0)} ms)`,
        measured: `${ratio.toFixed(2)} × (${workerSeek}${directFailed ? `; the direct URL ${directFailed}` : ''})`,
        met: didSeek(c) && ratio <= 1.2,
      });
      continue;
    }
    const what = `${run.engine}, server ignores Range: time until playable after the seek ≤ 1.2 × the direct URL's`;
    const seekRatio = c.seekMs.median / direct.seekMs.median;
    // A direct URL that cannot seek is slower than any time of ours that gets there.
    const seek: Target = directFailed
      ? { what, measured: `the direct URL cannot seek here: it ${directFailed}; ${workerSeek}`, met: didSeek(c) }
      : { what, measured: `${seekRatio.toFixed(2)} ×`, met: didSeek(c) && seekRatio <= 1.2 };
    out.push(
      { what: `${run.engine}, server ignores Range: sent in all (play, seek, reload, replay) ≤ 1.05 × the file`, measured: `${share.toFixed(3)} ×`, met: share <= 1.05 },
      { what: `${run.engine}, server ignores Range: replay after reload sends 0 bytes`, measured: mb(c.replayBytes.median), met: c.replayBytes.median === 0 },
      seek,
    );
  }
  return out;
}

function encryptedTargets(e: EncryptedResults): Target[] {
  const longRatio = e.gallery.longTaskMs.worker.median / Math.max(1, e.gallery.longTaskMs.page.median);
  return [
    {
      what: 'encrypted gallery, first visit: worker ≤ 1.0 × page-side and ≤ 1.1 × the reference worker',
      measured: `${e.gallery.ratio.median.toFixed(2)} × page-side; ${(e.gallery.ratio.median / e.gallery.reference.ratio.median).toFixed(2)} × the reference worker (its own: ${e.gallery.reference.ratio.median.toFixed(2)} × page-side)`,
      met: e.gallery.ratio.median <= 1.0 && e.gallery.ratio.median / e.gallery.reference.ratio.median <= 1.1,
    },
    { what: 'encrypted gallery after a reload: worker ≤ 0.6 × page-side', measured: `${e.gallery.afterReload.ratio.median.toFixed(2)} ×`, met: e.gallery.afterReload.ratio.median <= 0.6 },
    ...(e.firefoxGallery
      ? [{
          what: 'Firefox ESR, encrypted gallery: worker ≤ 1.0 × page-side, first visit and after a reload',
          measured: `${e.firefoxGallery.ratio.median.toFixed(2)} × and ${e.firefoxGallery.afterReload.ratio.median.toFixed(2)} ×`,
          met: e.firefoxGallery.ratio.median <= 1.0 && e.firefoxGallery.afterReload.ratio.median <= 1.0,
        }]
      : []),
    { what: "encrypted gallery: the page's main thread blocked (long tasks), worker ≤ 0.5 × page-side", measured: `${longRatio.toFixed(2)} × (${e.gallery.longTaskMs.worker.median.toFixed(0)} against ${e.gallery.longTaskMs.page.median.toFixed(0)} ms; after the task inserting the images: ${e.gallery.longTaskAfterInsertMs.worker.median.toFixed(0)} against ${e.gallery.longTaskAfterInsertMs.page.median.toFixed(0)} ms)`, met: longRatio <= 0.5 },
    {
      what: 'encrypted video: time to the first frame ≤ 1.0 × page-side',
      measured: `${e.video.firstFrameRatio.median.toFixed(2)} ×${e.video.breakdown ? ` (downloaded and stored in ${e.video.breakdown.worker.downloadMs.median.toFixed(0)} ms against ${e.video.breakdown.page.downloadMs.median.toFixed(0)} ms into the page's memory; breakdown in table 3)` : ''}`,
      met: e.video.firstFrameRatio.median <= 1.0,
    },
    ...(e.video.overLink
      ? [{
          what: `encrypted video over a ${(e.video.overLink.bytesPerSecond / 1e6).toFixed(0)} MB/s link: time to the first frame ≤ 1.1 × page-side (the same target where the download is the longer part)`,
          measured: `${e.video.overLink.ratio.median.toFixed(2)} ×`,
          met: e.video.overLink.ratio.median <= 1.1,
        }]
      : []),
    { what: "encrypted video: the page's peak memory ≤ 50 MB", measured: `${mb(e.video.pagePeakBytes.worker.median)} (page-side: ${mb(e.video.pagePeakBytes.page.median)})`, met: e.video.pagePeakBytes.worker.median <= 50 * 1024 * 1024 },
    { what: 'encrypted video: worker heap growth < 16 MB', measured: `${mb(e.video.workerHeapGrowthBytes)} JS heap (${mb(e.video.workerHeapAndBuffersGrowthBytes)} with array buffers)`, met: e.video.workerHeapGrowthBytes < 16 * 1024 * 1024 },
    { what: 'encrypted video: bytes sent for a seek after the first play, and for a replay after a reload: 0', measured: `${mb(e.video.seekBytes)}, ${mb(e.video.replayBytes)}`, met: e.video.seekBytes === 0 && e.video.replayBytes === 0 },
  ];
}

function targets(r: BenchResults): Target[] {
  const g = r.gallery.ratios;
  const rangeRun = r.video.find((v) => v.rangeSupport);
  const seekShare = rangeRun?.rows.c?.seekShare ?? 1;
  return [
    { what: 'c/f ≤ 1.05 (the add-on against an ideal worker)', measured: g['c/f']!.median.toFixed(2), met: g['c/f']!.median <= 1.05 },
    { what: 'c/b ≤ 1.0 (the add-on against page fetch + blob URLs)', measured: g['c/b']!.median.toFixed(2), met: g['c/b']!.median <= 1.0 },
    { what: 'e/c ≥ 1.5 (asking the page per request, against the add-on)', measured: g['e/c']!.median.toFixed(2), met: g['e/c']!.median >= 1.5 },
    { what: 'seek bytes for c ≤ 12 % of the file (server honours Range)', measured: `${(seekShare * 100).toFixed(1)} %`, met: seekShare <= 0.12 },
    ...storeTargets(r),
    ...encryptedTargets(r.encrypted),
    { what: 'worker heap growth while a video is downloaded, stored and played again < 10 MB', measured: `${mb(r.memory.growthBytes)} JS heap (${mb(r.memory.withBuffersGrowthBytes)} with array buffers)`, met: r.memory.growthBytes < 10 * 1024 * 1024 },
    { what: 'same-origin fetches with the worker within 1.03 of no worker', measured: r.sameOrigin.ratio.median.toFixed(2), met: r.sameOrigin.ratio.median <= 1.03 },
  ];
}

export function renderReport(r: BenchResults): { markdown: string; svg: string } {
  const lines: string[] = [];
  lines.push(`Benchmark run ${r.date}${r.quick ? ' (quick mode: tiny sizes, not for quoting)' : ''}, ${r.browser}, ${r.durationS} s.`);
  lines.push('');
  lines.push(`**1. Gallery**: ${r.gallery.images} distinct ~20 KB images inserted as \`<img>\`, time until all decoded and until the first one had (median, min–max). Each run is a fresh browser context, so a worker meets a homeserver it has not judged yet: its first request goes ahead and the others wait for its answer (docs/reliability.md, Network faults).`);
  lines.push('');
  lines.push('| | strategy | time | first image | homeserver requests per image |');
  lines.push('| --- | --- | --- | --- | --- |');
  for (const [key, s] of Object.entries(r.gallery.strategies)) lines.push(`| ${key} | ${s.label} | ${ms(s.ms)} | ${ms(s.firstMs)} | ${s.requestsPerImage.toFixed(2)} |`);
  lines.push('');
  lines.push('| ratio (pair by pair within a repetition) | median (min–max) |');
  lines.push('| --- | --- |');
  for (const [key, s] of Object.entries(r.gallery.ratios)) lines.push(`| ${key} | ${ratio(s)} |`);
  lines.push('');
  lines.push(
    '**2. Video**: open, seek to 90 % (time until playable there, and where the player then is: one that cannot seek goes back to the start), let every download end; reload the page in the same profile and do it again. Bytes are what the homeserver sent: after the seek, for the first play in all, after the reload (GET and HEAD: the recheck of a stale copy is a HEAD), and over everything.',
  );
  lines.push('');
  lines.push('| engine | server | strategy | metadata | seek | position after the seek | sent after the seek | share of the file | first play in all | replay: sent | replay: first frame | replay: seek | sent in all |');
  lines.push('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const run of r.video) {
    for (const [key, row] of Object.entries(run.rows) as Array<[VideoStrategy, VideoRow]>) {
      lines.push(
        `| ${run.engine} | ${serverLabel(run)} | ${VIDEO_STRATEGIES[key][1]}${row.errors.length ? ` (${row.errors.length} runs failed: ${[...new Set(row.errors)].join('; ')})` : ''} | ${ms(row.metadataMs)} | ${ms(row.seekMs)} | ${Number.isFinite(row.reached?.median) ? pct(row.reached.median) : '—'} | ${mb(row.seekBytes.median)} | ${(row.seekShare * 100).toFixed(1)} % | ${mb(row.firstBytes.median)} | ${mb(row.replayBytes.median)} | ${row.replayFirstFrameMs ? ms(row.replayFirstFrameMs) : '—'} | ${ms(row.replaySeekMs)} | ${mb(row.sentInAll.median)} |`,
      );
    }
  }
  lines.push('');
  const e = r.encrypted;
  lines.push(
    `**3. Encrypted media**: ${e.gallery.images} encrypted ~20 KB images, and the ${mb(e.video.fileBytes)} video encrypted, against a server that ignores Range. "worker": \`encryptedMediaUrl\` (verified and decrypted in the worker, through its store); "page": what clients do without one (fetch with the header, verify and decrypt whole with matrix-encrypt-attachment in the page, blob URL). Chromium; median (min–max) of ${e.gallery.ratio.n} repetitions for the gallery, ${e.video.firstFrameRatio.n} for the video, the two paths taking turns at going first.`,
  );
  lines.push('');
  lines.push('| | worker | page-side | worker / page |');
  lines.push('| --- | --- | --- | --- |');
  lines.push(`| gallery: until all decoded | ${ms(e.gallery.ms.worker)} | ${ms(e.gallery.ms.page)} | ${ratio(e.gallery.ratio)} |`);
  lines.push(
    `| gallery, reference worker (keys given before the clock starts, nothing stored, no routing: the least any worker does) | ${ms(e.gallery.reference.ms)} | | ${ratio(e.gallery.reference.ratio)} |`,
  );
  const again = e.gallery.afterReload;
  lines.push(
    `| gallery after a reload of the page (server: Synapse's Cache-Control, a day; homeserver requests per image: worker ${again.requestsPerImage.worker.toFixed(2)}, page ${again.requestsPerImage.page.toFixed(2)}) | ${ms(again.ms.worker)} | ${ms(again.ms.page)} | ${ratio(again.ratio)} |`,
  );
  const ff = e.firefoxGallery;
  if (ff) {
    lines.push(`| Firefox ESR, gallery: until all decoded (${ff.ratio.n} repetitions) | ${ms(ff.ms.worker)} | ${ms(ff.ms.page)} | ${ratio(ff.ratio)} |`);
    lines.push(`| Firefox ESR, gallery, reference worker | ${ms(ff.reference.ms)} | | ${ratio(ff.reference.ratio)} |`);
    lines.push(`| Firefox ESR, gallery after a reload (homeserver requests per image: worker ${ff.afterReload.requestsPerImage.worker.toFixed(2)}, page ${ff.afterReload.requestsPerImage.page.toFixed(2)}) | ${ms(ff.afterReload.ms.worker)} | ${ms(ff.afterReload.ms.page)} | ${ratio(ff.afterReload.ratio)} |`);
  }
  const failures = [...e.gallery.failures, ...(ff?.failures ?? []).map((f) => `Firefox: ${f}`)];
  if (failures.length > 0) {
    const counts = new Map<string, number>();
    for (const failure of failures) {
      const kind = failure.replace(/ 200 .*$/s, ' (fetched again: 200, a valid image)').slice(0, 160);
      counts.set(kind, (counts.get(kind) ?? 0) + 1);
    }
    lines.push(`| gallery: images that failed to decode, over all repetitions | ${[...counts].map(([k, n]) => `${n} × ${k}`).join('; ')} | | |`);
  }
  lines.push(`| gallery: main thread blocked (long tasks) | ${ms(e.gallery.longTaskMs.worker)} | ${ms(e.gallery.longTaskMs.page)} | |`);
  lines.push(
    `| gallery: of which after the task that inserted the images (the app's own: 300 elements created, their requests started) | ${ms(e.gallery.longTaskAfterInsertMs.worker)} | ${ms(e.gallery.longTaskAfterInsertMs.page)} | |`,
  );
  lines.push(`| video: time to the first frame | ${ms(e.video.firstFrameMs.worker)} | ${ms(e.video.firstFrameMs.page)} | ${ratio(e.video.firstFrameRatio)} |`);
  if (e.video.overLink) {
    const l = e.video.overLink;
    lines.push(`| video over a ${(l.bytesPerSecond / 1e6).toFixed(0)} MB/s link: time to the first frame | ${ms(l.firstFrameMs.worker)} | ${ms(l.firstFrameMs.page)} | ${ratio(l.ratio)} |`);
  }
  lines.push(`| video: the page's peak memory (JS heap and array buffers) | ${mb(e.video.pagePeakBytes.worker.median)} | ${mb(e.video.pagePeakBytes.page.median)} | |`);
  const b = e.video.breakdown;
  if (b) {
    lines.push(`| video, breakdown: the whole ciphertext downloaded (worker: and stored) | ${ms(b.worker.downloadMs)} | ${ms(b.page.downloadMs)} | |`);
    lines.push(`| video, breakdown: then verified and decrypted (worker: the hash's tail and the first blocks), and the first frame decoded | ${(e.video.firstFrameMs.worker.median - b.worker.downloadMs.median).toFixed(0)} ms | ${(e.video.firstFrameMs.page.median - b.page.downloadMs.median).toFixed(0)} ms (of which verify and decrypt: ${ms(b.page.verifyAndDecryptMs)}) | |`);
  }
  lines.push('');
  if (b) {
    lines.push(
      `Before its first frame the worker must have the whole ciphertext hashed (the spec's MUST): it hashes as the bytes arrive, with hash-wasm at ${b.hashMiBs.toFixed(0)} MiB/s here (${b.hashAloneMs.toFixed(0)} ms for this file alone), while the chunks are written to the store; the page hashes with WebCrypto's one-shot digest once the whole file is in memory, which is faster per byte and costs the file's size in memory.`,
    );
    lines.push('');
  }
  lines.push(
    `Worker heap growth during the encrypted video: ${mb(e.video.workerHeapGrowthBytes)} of JS heap; ${mb(e.video.workerHeapAndBuffersGrowthBytes)} at most counting array buffers, and ${mb(e.video.workerAfterCollectionGrowthBytes)} once a garbage collection was forced at the end (the rest was chunks already written or decrypted, not yet collected). Sent for the seek after the first play: ${mb(e.video.seekBytes)}; for a replay after a reload: ${mb(e.video.replayBytes)}.`,
  );
  lines.push('');
  lines.push(
    `**4. Memory**: the worker's JS heap while a ${mb(r.memory.streamedBytes)} video was downloaded and stored by the worker (server ignores Range), then played again from the store after a reload: ${mb(r.memory.baselineBytes)} before, ${mb(r.memory.peakBytes)} at most, growth ${mb(r.memory.growthBytes)}; counting array buffers (chunks written and not yet collected), growth ${mb(r.memory.withBuffersGrowthBytes)}.`,
  );
  lines.push('');
  lines.push(
    `**5. Requests outside the media paths**: ${r.sameOrigin.fetches} same-origin fetches: no worker ${ms(r.sameOrigin.none)}, with matrix-media-sw ${ms(r.sameOrigin.mms)}, ratio ${ratio(r.sameOrigin.ratio)}.`,
  );
  lines.push('');
  lines.push('| target | measured | |');
  lines.push('| --- | --- | --- |');
  for (const t of targets(r)) lines.push(`| ${t.what} | ${t.measured} | ${t.met ? 'met' : '**missed**'} |`);
  lines.push('');

  // Bars: gallery medians per strategy.
  const entries = Object.entries(r.gallery.strategies);
  const max = Math.max(...entries.map(([, s]) => s.ms.max));
  const barHeight = 26;
  const labelWidth = 430;
  const chartWidth = 360;
  const height = entries.length * (barHeight + 8) + 50;
  const bars = entries
    .map(([key, s], i) => {
      const y = 34 + i * (barHeight + 8);
      const width = Math.max(1, (s.ms.median / max) * chartWidth);
      const whiskerFrom = labelWidth + (s.ms.min / max) * chartWidth;
      const whiskerTo = labelWidth + (s.ms.max / max) * chartWidth;
      const colour = key === 'c' || key === 'd' ? '#0b7a55' : '#8a94a6';
      const label = `${key}: ${s.label}`.replace(/&/g, '&amp;').replace(/</g, '&lt;');
      return `<text x="${labelWidth - 8}" y="${y + 17}" text-anchor="end">${label}</text>
<rect x="${labelWidth}" y="${y}" width="${width.toFixed(1)}" height="${barHeight}" fill="${colour}"/>
<line x1="${whiskerFrom.toFixed(1)}" x2="${whiskerTo.toFixed(1)}" y1="${y + barHeight / 2}" y2="${y + barHeight / 2}" stroke="#1d2430"/>
<text x="${labelWidth + width + 6}" y="${y + 17}">${s.ms.median.toFixed(0)} ms</text>`;
    })
    .join('\n');
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${labelWidth + chartWidth + 90}" height="${height}" font-family="sans-serif" font-size="12" fill="#1d2430">
<rect width="100%" height="100%" fill="#fff"/>
<text x="10" y="20" font-weight="bold">${r.gallery.images} images until all decoded (median; line: min–max), ${r.browser}</text>
${bars}
</svg>
`;
  return { markdown: `${lines.join('\n')}\n`, svg };
}
