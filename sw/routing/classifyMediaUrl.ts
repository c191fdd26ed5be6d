import { isValidMediaId, isValidServerName } from '../../src/mxc.js';
import { ATTACHMENT_PARAM, LOCAL_MEDIA_SEGMENT } from '../../src/protocol.js';

/** Which requests the worker takes: a pure function of the URL, so it can run synchronously. */

export type MediaEndpoint = 'download' | 'thumbnail' | 'config' | 'preview_url';

/** Which API family a homeserver URL used: the legacy `/_matrix/media/{r0,v1,v3}` or an authenticated one. */
export type MediaApi = 'legacy' | 'v1' | 'unstable';

/** A media request as the worker understands it, wherever it came from. */
export interface MediaTarget {
  /** The API family of the URL the page asked for (`v1` for `mediaUrl` URLs). */
  api: MediaApi;
  endpoint: MediaEndpoint;
  /** The path after the endpoint: `''`, or `/{serverName}/{mediaId}` with an optional `/{fileName}`. */
  rest: string;
  /** The query string, with its `?`, or `''`. */
  search: string;
}

/** A URL on a homeserver's media API; `base` is the origin plus path prefix before `/_matrix`. */
export interface HomeserverMediaRequest extends MediaTarget {
  kind: 'homeserver';
  base: string;
}

/** A same-origin URL built by `mediaUrl`, naming the session that made it. */
export interface LocalMediaRequest extends MediaTarget {
  kind: 'local';
  sessionId: string;
  endpoint: 'download' | 'thumbnail';
  /** The decoded file name from the last path segment, if the URL had one. */
  fileName: string | undefined;
  /** `attachment=true`: served as an attachment whatever its type. */
  attachment: boolean;
}

/**
 * A same-origin URL built by `encryptedMediaUrl`: the worker serves the attachment decrypted.
 * `fileId` is opaque (see encryptedFileId); the key reaches the worker by message, never in the URL.
 */
export interface EncryptedMediaRequest {
  kind: 'encrypted';
  sessionId: string;
  fileId: string;
  fileName: string | undefined;
  attachment: boolean;
}

/** A URL under the worker's `mediaUrl` path that breaks its grammar: answered with 400. */
export interface InvalidLocalMediaRequest {
  kind: 'invalid-local';
  reason: string;
}

export type MediaRequest = HomeserverMediaRequest | LocalMediaRequest | EncryptedMediaRequest | InvalidLocalMediaRequest;

const FILE_ID = /^[A-Za-z0-9_-]{43}$/;

const HOMESERVER_MEDIA_PATH =
  /^((?:\/[^/]+)*?)\/_matrix\/(media\/(?:r0|v1|v3)|client\/v1\/media|client\/unstable\/org\.matrix\.msc3916\/media)\/(download|thumbnail|config|preview_url)(\/.*)?$/;

const API_BY_PREFIX: Record<string, MediaApi> = {
  'client/v1/media': 'v1',
  'client/unstable/org.matrix.msc3916/media': 'unstable',
};

const SESSION_ID = /^[A-Za-z0-9_-]{1,128}$/;

// Segments are checked raw (still percent-encoded): "%2F" in a media ID or "%2e%2e" as a server
// name must fail here rather than be decoded into a different path upstream.
function isValidMediaPath(endpoint: MediaEndpoint, rest: string): boolean {
  if (endpoint === 'config' || endpoint === 'preview_url') return rest === '';
  const segments = rest.split('/').slice(1);
  const [serverName = '', mediaId = '', fileName] = segments;
  if (!isValidServerName(serverName) || !isValidMediaId(mediaId)) return false;
  if (segments.length === 2) return true;
  return endpoint === 'download' && segments.length === 3 && isValidFileNameSegment(fileName ?? '');
}

// The file name is forwarded still encoded, so an encoded "/" stays inside its segment; but a
// URL parser turns "%2e%2e" into "..", which would climb out of the media path.
function isValidFileNameSegment(segment: string): boolean {
  if (segment.length === 0 || segment.length > 765) return false;
  try {
    const decoded = decodeURIComponent(segment);
    return decoded.length > 0 && decoded !== '.' && decoded !== '..';
  } catch {
    return false;
  }
}

function classifyLocal(url: URL, afterSegment: string): LocalMediaRequest | EncryptedMediaRequest | InvalidLocalMediaRequest {
  const [sessionId = '', endpoint = '', ...rest] = afterSegment.split('/');
  if (!SESSION_ID.test(sessionId)) return { kind: 'invalid-local', reason: 'The media URL names no valid session.' };
  const attachmentParam = url.searchParams.get(ATTACHMENT_PARAM);
  if (attachmentParam !== null && attachmentParam !== 'true') {
    return { kind: 'invalid-local', reason: `"${ATTACHMENT_PARAM}" can only be "true".` };
  }
  const attachment = attachmentParam !== null;
  if (endpoint === 'encrypted') {
    const [fileId = '', fileName, ...extra] = rest;
    if (!FILE_ID.test(fileId) || extra.length > 0 || (fileName !== undefined && !isValidFileNameSegment(fileName))) {
      return { kind: 'invalid-local', reason: 'The encrypted media URL does not name a valid file.' };
    }
    return { kind: 'encrypted', sessionId, fileId, fileName: fileName === undefined ? undefined : decodeURIComponent(fileName), attachment };
  }
  if (endpoint !== 'download' && endpoint !== 'thumbnail') {
    return { kind: 'invalid-local', reason: 'The media URL must ask for a download, a thumbnail or an encrypted file.' };
  }
  const restPath = rest.length > 0 ? `/${rest.join('/')}` : '';
  if (!isValidMediaPath(endpoint, restPath)) {
    return { kind: 'invalid-local', reason: 'The media URL does not name a valid server name and media ID.' };
  }
  const fileName = rest[2] === undefined ? undefined : decodeURIComponent(rest[2]);
  if (endpoint === 'thumbnail' && !(url.searchParams.has('width') && url.searchParams.has('height'))) {
    return { kind: 'invalid-local', reason: 'A thumbnail URL needs "width" and "height".' };
  }
  if (attachment && endpoint === 'thumbnail') {
    return { kind: 'invalid-local', reason: 'A thumbnail is served inline: "attachment" applies to downloads.' };
  }
  return { kind: 'local', api: 'v1', sessionId, endpoint, rest: restPath, search: withoutAttachment(url), fileName, attachment };
}

/** The query string, without the worker's own parameter: the homeserver never sees it. */
function withoutAttachment(url: URL): string {
  if (!url.searchParams.has(ATTACHMENT_PARAM)) return url.search;
  const query = new URLSearchParams(url.search);
  query.delete(ATTACHMENT_PARAM);
  const rest = query.toString();
  return rest ? `?${rest}` : '';
}

/**
 * Decides from the URL alone whether a GET request is media the worker should handle.
 *
 * Homeserver URLs are recognised by path shape on any origin: whether the origin and prefix
 * belong to a signed-in homeserver is the handler's question, because the sessions may still be
 * loading from storage when a restarted worker gets its first request.
 *
 * @param url the request URL
 * @param scopeUrl the worker's scope; `mediaUrl` URLs live under it
 */
export function classifyMediaUrl(url: URL, scopeUrl: string): MediaRequest | undefined {
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return undefined;

  const scope = new URL(scopeUrl);
  const localPrefix = `${scope.pathname.replace(/\/?$/, '/')}${LOCAL_MEDIA_SEGMENT}/`;
  if (url.origin === scope.origin && url.pathname.startsWith(localPrefix)) {
    return classifyLocal(url, url.pathname.slice(localPrefix.length));
  }

  const match = HOMESERVER_MEDIA_PATH.exec(url.pathname);
  if (!match) return undefined;
  const [, prefix = '', apiPrefix = '', endpoint = '', rest = ''] = match;
  const mediaEndpoint = endpoint as MediaEndpoint;
  if (!isValidMediaPath(mediaEndpoint, rest)) return undefined;
  return {
    kind: 'homeserver',
    base: url.origin + prefix,
    api: API_BY_PREFIX[apiPrefix] ?? 'legacy',
    endpoint: mediaEndpoint,
    rest,
    search: url.search,
  };
}
