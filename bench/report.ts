/** The benchmark's outputs: a markdown table with the targets checked, and an SVG bar chart. */

export interface Stat {
  median: number;
  min: number;
  max: number;
  n: number;
}

export interface BenchResults {
  date: string;
  quick: boolean;
  browser: string;
  durationS: number;
  gallery: {
    images: number;
    strategies: Record<string, { label: string; ms: Stat; requestsPerImage: number }>;
    ratios: Record<string, Stat>;
  };
  video: Array<{
    rangeSupport: boolean;
    fileBytes: number;
    rows: Record<string, { metadataMs: Stat; seekMs: Stat; seekBytes: Stat; seekShare: number; totalBytes: Stat }>;
  }>;
  memory: { streamedBytes: number; baselineBytes: number; peakBytes: number; growthBytes: number };
  sameOrigin: { fetches: number; none: Stat; mms: Stat; ratio: Stat };
}

const ms = (s: Stat) => `${s.median.toFixed(0)} ms (${s.min.toFixed(0)}–${s.max.toFixed(0)})`;
const ratio = (s: Stat) => `${s.median.toFixed(2)} (${s.min.toFixed(2)}–${s.max.toFixed(2)})`;
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

interface Target {
  what: string;
  measured: string;
  met: boolean;
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
    { what: "worker heap growth while streaming < 10 MB", measured: mb(r.memory.growthBytes), met: r.memory.growthBytes < 10 * 1024 * 1024 },
    { what: 'same-origin fetches with the worker within 1.03 of no worker', measured: r.sameOrigin.ratio.median.toFixed(2), met: r.sameOrigin.ratio.median <= 1.03 },
  ];
}

export function renderReport(r: BenchResults): { markdown: string; svg: string } {
  const lines: string[] = [];
  lines.push(`Benchmark run ${r.date}${r.quick ? ' (quick mode: tiny sizes, not for quoting)' : ''}, ${r.browser}, ${r.durationS} s.`);
  lines.push('');
  lines.push(`**1. Gallery**: ${r.gallery.images} distinct ~20 KB images inserted as \`<img>\`, time until all decoded (median, min–max).`);
  lines.push('');
  lines.push('| | strategy | time | homeserver requests per image |');
  lines.push('| --- | --- | --- | --- |');
  for (const [key, s] of Object.entries(r.gallery.strategies)) lines.push(`| ${key} | ${s.label} | ${ms(s.ms)} | ${s.requestsPerImage.toFixed(2)} |`);
  lines.push('');
  lines.push('| ratio (pair by pair within a repetition) | median (min–max) |');
  lines.push('| --- | --- |');
  for (const [key, s] of Object.entries(r.gallery.ratios)) lines.push(`| ${key} | ${ratio(s)} |`);
  lines.push('');
  lines.push(
    '**2. Video**: time to metadata, then a seek to 90 %: time until playable there; the bytes the homeserver sent for requests made after the seek, and in all.',
  );
  lines.push('');
  lines.push('| server | strategy | metadata | seek | sent after the seek | share of the file | sent in all |');
  lines.push('| --- | --- | --- | --- | --- | --- | --- |');
  const names: Record<string, string> = { c: 'c: matrix-media-sw', e: 'e: ask-page worker (drops Range)', direct: 'direct unauthenticated URL' };
  for (const run of r.video) {
    for (const [key, row] of Object.entries(run.rows)) {
      lines.push(
        `| ${run.rangeSupport ? 'honours Range' : 'ignores Range (as Synapse)'} | ${names[key]} | ${ms(row.metadataMs)} | ${ms(row.seekMs)} | ${mb(row.seekBytes.median)} | ${(row.seekShare * 100).toFixed(1)} % | ${mb(row.totalBytes.median)} |`,
      );
    }
  }
  lines.push('');
  lines.push(
    `**3. Memory**: the worker's JS heap while ${mb(r.memory.streamedBytes)} streamed through it: ${mb(r.memory.baselineBytes)} before, ${mb(r.memory.peakBytes)} at most, growth ${mb(r.memory.growthBytes)}.`,
  );
  lines.push('');
  lines.push(
    `**4. Requests outside the media paths**: ${r.sameOrigin.fetches} same-origin fetches: no worker ${ms(r.sameOrigin.none)}, with matrix-media-sw ${ms(r.sameOrigin.mms)}, ratio ${ratio(r.sameOrigin.ratio)}.`,
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
