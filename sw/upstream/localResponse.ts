import { formatMimeType, parseMimeType } from '../../src/mimeType.js';
import type { LocalMediaRequest } from '../routing/classifyMediaUrl.js';

/**
 * What the worker adds to media it serves on the app's own origin (`mediaUrl` URLs). There an
 * uploaded HTML or SVG file would run with the app's privileges, so nothing is sniffed, scripts
 * are sandboxed away, and types outside the spec's inline allow-list are served as attachments.
 */

// The spec's "serving inline content" allow-list (content repository module). SVG is absent on purpose.
const INLINE_CONTENT_TYPES = new Set([
  'text/css', 'text/plain', 'text/csv', 'application/json', 'application/ld+json',
  'image/jpeg', 'image/gif', 'image/png', 'image/apng', 'image/webp', 'image/avif',
  'video/mp4', 'video/webm', 'video/ogg', 'video/quicktime',
  'audio/mp4', 'audio/webm', 'audio/aac', 'audio/mpeg', 'audio/ogg', 'audio/wave', 'audio/wav',
  'audio/x-wav', 'audio/x-pn-wav', 'audio/flac', 'audio/x-flac',
]);

// The policy the spec recommends for media, without the obsolete plugin-types directive.
export const MEDIA_CONTENT_SECURITY_POLICY =
  "sandbox; default-src 'none'; script-src 'none'; style-src 'unsafe-inline'; object-src 'self'; media-src 'self'";

const PASSED_HEADERS = ['Content-Type', 'Content-Length', 'Content-Range', 'Accept-Ranges', 'Cache-Control', 'Last-Modified', 'ETag', 'Expires'];

/** True when `contentType` is exactly one MIME type, and one the spec lets a client show inline. */
export function isInlineContentType(contentType: string): boolean {
  const type = parseMimeType(contentType);
  return type !== undefined && INLINE_CONTENT_TYPES.has(type.essence);
}

/** A `Content-Disposition` value; the file name in both the plain and the RFC 8187 form. */
export function contentDisposition(disposition: 'inline' | 'attachment', fileName: string | undefined): string {
  if (fileName === undefined) return disposition;
  const ascii = fileName.replace(/[^\x20-\x7e]|["\\]/g, '_');
  const encoded = encodeURIComponent(fileName).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `${disposition}; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}

/** Headers for a response served on the app's origin: those worth passing on, and the safety ones. */
export function localHeaders(upstream: Headers, ok: boolean, media: Pick<LocalMediaRequest, 'fileName' | 'attachment'>): Headers {
  const headers = new Headers();
  for (const name of PASSED_HEADERS) {
    const value = upstream.get(name);
    if (value !== null) headers.set(name, value);
  }
  // Only the essence of one strictly parsed type goes on: a browser renders the last type of a
  // list such as "image/png;a, text/html". Anything else is bytes, to be saved, not shown.
  const type = parseMimeType(headers.get('Content-Type') ?? '');
  headers.set('Content-Type', type ? formatMimeType(type) : 'application/octet-stream');
  headers.set('X-Content-Type-Options', 'nosniff');
  headers.set('Content-Security-Policy', MEDIA_CONTENT_SECURITY_POLICY);
  headers.set('Referrer-Policy', 'no-referrer');
  // Thumbnails and error bodies too: a server that "thumbnails" into SVG, or answers an error
  // in HTML, must not get it rendered on our origin.
  const inline = type !== undefined && INLINE_CONTENT_TYPES.has(type.essence) && !(ok && media.attachment);
  headers.set('Content-Disposition', contentDisposition(inline ? 'inline' : 'attachment', ok ? media.fileName : undefined));
  return headers;
}

/** Re-wraps the upstream response (body still streaming) with the app-origin safety headers. */
export function toLocalResponse(upstream: Response, media: Pick<LocalMediaRequest, 'fileName' | 'attachment'>): Response {
  return new Response(upstream.body, { status: upstream.status, statusText: upstream.statusText, headers: localHeaders(upstream.headers, upstream.ok, media) });
}
