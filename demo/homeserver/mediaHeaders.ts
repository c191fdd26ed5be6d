import { isInlineContentType } from '../../sw/upstream/localResponse.js';

/**
 * The headers a homeserver sends with media, as the spec asks and Synapse does
 * (synapse/media/_base.py add_file_headers; synapse/rest/client/media.py).
 */

// Synapse appends a charset to these.
const TEXT_CONTENT_TYPES = new Set([
  'text/css', 'text/csv', 'text/html', 'text/calendar', 'text/plain', 'text/javascript',
  'application/json', 'application/ld+json', 'application/rtf', 'image/svg+xml', 'text/xml',
]);

export const SPEC_MEDIA_CSP =
  "sandbox; default-src 'none'; script-src 'none'; plugin-types application/pdf; style-src 'unsafe-inline'; media-src 'self'; object-src 'self';";

function baseType(contentType: string): string {
  return contentType.split(';', 1)[0]!.trim().toLowerCase();
}

/** The Content-Type as served: Synapse adds `charset=UTF-8` to text types. */
export function servedContentType(contentType: string): string {
  return TEXT_CONTENT_TYPES.has(baseType(contentType)) && !/charset=/i.test(contentType)
    ? `${contentType}; charset=UTF-8`
    : contentType;
}

// RFC 2616 token characters, the test Synapse uses to choose between the two forms.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** Content-Disposition as Synapse writes it: a bare token name, or `filename*=utf-8''…`, never quoted. */
export function contentDisposition(contentType: string, fileName: string | undefined): string {
  // The worker and the homeserver apply the same allow-list: the spec's, which Synapse copies.
  const disposition = isInlineContentType(contentType) ? 'inline' : 'attachment';
  if (!fileName) return disposition;
  if (TOKEN.test(fileName)) return `${disposition}; filename=${fileName}`;
  return `${disposition}; filename*=utf-8''${encodeURIComponent(fileName)}`;
}
