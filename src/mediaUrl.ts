import { MediaSwError } from './MediaSwError.js';
import { parseMxc } from './mxc.js';
import { LOCAL_MEDIA_SEGMENT } from './protocol.js';

/** What `mediaUrl` can ask for. Width and height together make a thumbnail; neither, a download. */
export interface MediaUrlOptions {
  width?: number;
  height?: number;
  method?: 'crop' | 'scale';
  animated?: boolean;
  /** The file name a download is saved under (it becomes the URL's last segment). */
  filename?: string;
}

function isPositiveInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value > 0 && value <= 100_000;
}

/**
 * Builds the same-origin URL, under the worker's scope, that the worker serves as the download or
 * thumbnail of `mxc` with the session `sessionId`. Throws `MediaSwError('invalid-mxc')` for a URI
 * that breaks the spec's grammar and `MediaSwError('invalid-options')` for impossible options.
 */
export function buildMediaUrl(scopeUrl: string, sessionId: string, mxc: string, options: MediaUrlOptions = {}): string {
  const parts = parseMxc(mxc);
  if (!parts) {
    throw new MediaSwError(
      'invalid-mxc',
      'Not a valid mxc URI: expected mxc://<server-name>/<media-id>, with a media ID of A-Z, a-z, 0-9, "_" and "-".',
    );
  }
  const base = new URL(`${LOCAL_MEDIA_SEGMENT}/${sessionId}/`, scopeUrl);
  const { width, height, method, animated, filename } = options;
  const isThumbnail = width !== undefined || height !== undefined;

  if (!isThumbnail) {
    if (method !== undefined || animated !== undefined) {
      throw new MediaSwError('invalid-options', '"method" and "animated" apply to thumbnails: give "width" and "height" too.');
    }
    let path = `download/${parts.serverName}/${parts.mediaId}`;
    if (filename !== undefined) {
      if (typeof filename !== 'string' || filename.length === 0 || filename.length > 255) {
        throw new MediaSwError('invalid-options', '"filename" must be a non-empty string of at most 255 characters.');
      }
      path += `/${encodeURIComponent(filename)}`;
    }
    return new URL(path, base).href;
  }

  if (!isPositiveInteger(width) || !isPositiveInteger(height)) {
    throw new MediaSwError('invalid-options', 'A thumbnail needs both "width" and "height" as positive whole numbers of pixels.');
  }
  if (method !== undefined && method !== 'crop' && method !== 'scale') {
    throw new MediaSwError('invalid-options', '"method" must be "crop" or "scale".');
  }
  if (animated !== undefined && typeof animated !== 'boolean') {
    throw new MediaSwError('invalid-options', '"animated" must be true or false.');
  }
  if (filename !== undefined) {
    throw new MediaSwError('invalid-options', '"filename" applies to downloads; the spec serves thumbnails inline without one.');
  }
  const url = new URL(`thumbnail/${parts.serverName}/${parts.mediaId}`, base);
  url.searchParams.set('width', String(width));
  url.searchParams.set('height', String(height));
  if (method) url.searchParams.set('method', method);
  if (animated !== undefined) url.searchParams.set('animated', String(animated));
  return url.href;
}

/** What `encryptedMediaUrl` can be told about the file, from the event's content. */
export interface EncryptedMediaOptions {
  /** `info.mimetype`: the plaintext's type (the ciphertext is uploaded as application/octet-stream). */
  mimetype?: string;
  /** `body` or `filename`: the name the file is saved under. */
  filename?: string;
}

/** Checks `encryptedMediaUrl`'s options; throws `MediaSwError('invalid-options')`. */
export function checkEncryptedMediaOptions(options: EncryptedMediaOptions = {}): EncryptedMediaOptions {
  const { mimetype, filename } = options;
  if (mimetype !== undefined && (typeof mimetype !== 'string' || !/^[\w.+-]+\/[\w.+-]+(\s*;.*)?$/.test(mimetype) || mimetype.length > 255)) {
    throw new MediaSwError('invalid-options', '"mimetype" must be a content type such as "image/jpeg".');
  }
  if (filename !== undefined && (typeof filename !== 'string' || filename.length === 0 || filename.length > 255)) {
    throw new MediaSwError('invalid-options', '"filename" must be a non-empty string of at most 255 characters.');
  }
  return { mimetype, filename };
}

/**
 * The same-origin URL, under the worker's scope, that the worker serves decrypted: it names the
 * session and the file (by its ciphertext hash), never its key or IV.
 */
export function buildEncryptedMediaUrl(scopeUrl: string, sessionId: string, fileId: string, filename: string | undefined): string {
  const path = `${LOCAL_MEDIA_SEGMENT}/${sessionId}/encrypted/${fileId}${filename === undefined ? '' : `/${encodeURIComponent(filename)}`}`;
  return new URL(path, scopeUrl).href;
}
