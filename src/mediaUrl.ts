import { MediaSwError } from './MediaSwError.js';
import { parseMimeType } from './mimeType.js';
import { parseMxc } from './mxc.js';
import { ATTACHMENT_PARAM, LOCAL_MEDIA_SEGMENT } from './protocol.js';

/** What `mediaUrl` can ask for. Width and height together make a thumbnail; neither, a download. */
export interface MediaUrlOptions {
  width?: number;
  height?: number;
  method?: 'crop' | 'scale';
  animated?: boolean;
  /** The file name a download is saved under (it becomes the URL's last segment). */
  filename?: string;
  /**
   * Served as an attachment whatever its type, so that a plain link to it (no `download`
   * attribute) or `location.assign` saves the file: what a "Download" button needs.
   */
  attachment?: boolean;
}

function checkAttachment(attachment: unknown): void {
  if (attachment !== undefined && typeof attachment !== 'boolean') {
    throw new MediaSwError('invalid-options', '"attachment" must be true or false.');
  }
}

/** `url` with `attachment=true` when asked for. */
function withAttachment(url: URL, attachment: boolean | undefined): string {
  if (attachment) url.searchParams.set(ATTACHMENT_PARAM, 'true');
  return url.href;
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
  const { width, height, method, animated, filename, attachment } = options;
  const isThumbnail = width !== undefined || height !== undefined;
  checkAttachment(attachment);

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
    return withAttachment(new URL(path, base), attachment);
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
  if (filename !== undefined || attachment !== undefined) {
    throw new MediaSwError('invalid-options', '"filename" and "attachment" apply to downloads; the spec serves thumbnails inline without a name.');
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
  /** Served as an attachment whatever its type: for a "Download" link (see `MediaUrlOptions`). */
  attachment?: boolean;
}

/** Checks `encryptedMediaUrl`'s options; throws `MediaSwError('invalid-options')`. */
export function checkEncryptedMediaOptions(options: EncryptedMediaOptions = {}): EncryptedMediaOptions {
  const { mimetype, filename, attachment } = options;
  checkAttachment(attachment);
  if (mimetype !== undefined && parseMimeType(mimetype) === undefined) {
    throw new MediaSwError('invalid-options', '"mimetype" must be one content type such as "image/jpeg" (no list, no commas).');
  }
  if (filename !== undefined && (typeof filename !== 'string' || filename.length === 0 || filename.length > 255)) {
    throw new MediaSwError('invalid-options', '"filename" must be a non-empty string of at most 255 characters.');
  }
  return { mimetype, filename, attachment };
}

/**
 * The same-origin URL, under the worker's scope, that the worker serves decrypted: it names the
 * session and the file (by an opaque id, see encryptedFileId), never its key, IV or hash.
 */
export function buildEncryptedMediaUrl(scopeUrl: string, sessionId: string, fileId: string, options: Pick<EncryptedMediaOptions, 'filename' | 'attachment'>): string {
  const { filename, attachment } = options;
  const path = `${LOCAL_MEDIA_SEGMENT}/${sessionId}/encrypted/${fileId}${filename === undefined ? '' : `/${encodeURIComponent(filename)}`}`;
  return withAttachment(new URL(path, scopeUrl), attachment);
}
