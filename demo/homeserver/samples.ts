import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import sharp from 'sharp';

/**
 * The sample media the demo and tests start with, all made here: landscape "photos" drawn as
 * SVG and encoded by sharp, an animated image, the committed sample video, a PDF, an SVG and a
 * text file. Nothing is downloaded.
 */

export interface SampleMedia {
  fileName: string;
  contentType: string;
  data: Buffer;
  /** What the demo page shows it as. */
  kind: 'photo' | 'animation' | 'video' | 'document' | 'avatar';
}

/** An SVG landscape: sky, sun and three ranges of hills, varied by `seed`. */
export function landscapeSvg(width: number, height: number, seed: number): string {
  const hue = (seed * 47) % 360;
  const sunX = width * (0.2 + ((seed * 0.37) % 0.6));
  const hill = (level: number, lightness: number) => {
    const base = height * (0.55 + level * 0.12);
    const points = Array.from({ length: 9 }, (_, i) => {
      const x = (width * i) / 8;
      const y = base - Math.sin(i * 1.3 + seed + level) * height * 0.06;
      return `${x.toFixed(1)},${y.toFixed(1)}`;
    });
    return `<polygon fill="hsl(${(hue + 100 + level * 15) % 360},45%,${lightness}%)" points="0,${height} ${points.join(' ')} ${width},${height}"/>`;
  };
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">
  <defs><linearGradient id="sky" x1="0" y1="0" x2="0" y2="1">
    <stop offset="0" stop-color="hsl(${hue},70%,45%)"/><stop offset="1" stop-color="hsl(${(hue + 40) % 360},80%,85%)"/>
  </linearGradient></defs>
  <rect width="100%" height="100%" fill="url(#sky)"/>
  <circle cx="${sunX.toFixed(1)}" cy="${(height * 0.3).toFixed(1)}" r="${(Math.min(width, height) * 0.09).toFixed(1)}" fill="hsl(45,100%,75%)"/>
  ${hill(0, 55)}${hill(1, 40)}${hill(2, 25)}
</svg>`;
}

/** A landscape photo of `width`×`height` in `format`. */
export async function samplePhoto(width: number, height: number, seed: number, format: 'jpeg' | 'png' | 'webp' | 'avif'): Promise<Buffer> {
  const image = sharp(Buffer.from(landscapeSvg(width, height, seed)));
  if (format === 'jpeg') return image.jpeg({ quality: 82 }).toBuffer();
  if (format === 'png') return image.png({ compressionLevel: 9 }).toBuffer();
  if (format === 'webp') return image.webp({ quality: 80 }).toBuffer();
  return image.avif({ quality: 50 }).toBuffer();
}

/** An animated GIF of a sun crossing the sky, `frames` frames long. */
export async function animatedGif(width: number, height: number, frames: number): Promise<Buffer> {
  const stills = await Promise.all(
    Array.from({ length: frames }, (_, i) => {
      const x = (width * (i + 0.5)) / frames;
      const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">
        <rect width="100%" height="100%" fill="#1e3a5f"/><circle cx="${x}" cy="${height / 2}" r="${height / 5}" fill="#ffd54f"/></svg>`;
      return sharp(Buffer.from(svg)).png().toBuffer();
    }),
  );
  return sharp(stills, { join: { animated: true } }).gif({ delay: 150, loop: 0 }).toBuffer();
}

/** A one-page PDF with a line of text, written by hand: the format needs only a few objects. */
export function samplePdf(text: string): Buffer {
  const stream = `BT /F1 24 Tf 72 720 Td (${text.replace(/[()\\]/g, '\\$&')}) Tj ET`;
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>',
    `<< /Length ${stream.length} >>\nstream\n${stream}\nendstream`,
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
  ];
  let body = '%PDF-1.4\n';
  const offsets: number[] = [];
  objects.forEach((object, i) => {
    offsets.push(Buffer.byteLength(body));
    body += `${i + 1} 0 obj\n${object}\nendobj\n`;
  });
  const xref = Buffer.byteLength(body);
  body += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  for (const offset of offsets) body += `${String(offset).padStart(10, '0')} 00000 n \n`;
  body += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(body, 'latin1');
}

export async function sampleMedia(): Promise<SampleMedia[]> {
  const root = resolve(import.meta.dirname, '../..');
  return [
    { fileName: 'mountains.jpg', contentType: 'image/jpeg', data: await samplePhoto(1600, 1200, 1, 'jpeg'), kind: 'photo' },
    { fileName: 'tall hills.png', contentType: 'image/png', data: await samplePhoto(900, 1200, 2, 'png'), kind: 'photo' },
    { fileName: 'sunset.webp', contentType: 'image/webp', data: await samplePhoto(1920, 1080, 3, 'webp'), kind: 'photo' },
    { fileName: 'dawn.avif', contentType: 'image/avif', data: await samplePhoto(1280, 720, 4, 'avif'), kind: 'photo' },
    { fileName: 'square.jpg', contentType: 'image/jpeg', data: await samplePhoto(800, 800, 5, 'jpeg'), kind: 'photo' },
    { fileName: 'small.png', contentType: 'image/png', data: await samplePhoto(200, 150, 6, 'png'), kind: 'photo' },
    { fileName: 'sun.gif', contentType: 'image/gif', data: await animatedGif(320, 180, 12), kind: 'animation' },
    { fileName: 'alice.png', contentType: 'image/png', data: await samplePhoto(256, 256, 7, 'png'), kind: 'avatar' },
    { fileName: 'bob.jpg', contentType: 'image/jpeg', data: await samplePhoto(256, 256, 8, 'jpeg'), kind: 'avatar' },
    { fileName: 'carol.webp', contentType: 'image/webp', data: await samplePhoto(256, 256, 9, 'webp'), kind: 'avatar' },
    {
      fileName: 'sample-video.webm',
      contentType: 'video/webm',
      data: readFileSync(resolve(root, 'demo/media/sample-video.webm')),
      kind: 'video',
    },
    { fileName: 'report.pdf', contentType: 'application/pdf', data: samplePdf('matrix-media-sw sample document'), kind: 'document' },
    { fileName: 'logo.svg', contentType: 'image/svg+xml', data: Buffer.from(landscapeSvg(240, 160, 10)), kind: 'document' },
    { fileName: 'notes.txt', contentType: 'text/plain', data: Buffer.from('Plain text served through the worker.\n'), kind: 'document' },
  ];
}
