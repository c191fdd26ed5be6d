import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isValidMediaId, isValidServerName } from '../../src/mxc.js';
import { parseRangeHeader } from '../../sw/upstream/rangeResponse.js';
import { Accounts } from './accounts.js';
import { CORS_HEADERS, MatrixError, readBody, readJson, sendError, sendJson } from './http.js';
import { contentDisposition, servedContentType, SPEC_MEDIA_CSP } from './mediaHeaders.js';
import { MediaStore, type StoredMedia } from './mediaStore.js';
import { previewUrl } from './preview.js';
import { parseThumbnailRequest, thumbnail } from './thumbnails.js';

/**
 * The embedded homeserver: the parts of the Matrix client-server API that media needs, behaving
 * as the spec says and Synapse does, with switches for what tests must provoke on demand.
 * It serves on its own origin (127.0.0.1), apart from the page (localhost), and runs a second
 * origin beside it, a "CDN" that redirects can point to.
 */

export interface HomeserverConfig {
  /** What /versions advertises. */
  versions: string[];
  unstableFeatures: Record<string, boolean>;
  /** false: /_matrix/client/v1/media answers 404 M_UNRECOGNIZED, as servers before Matrix 1.11 do. */
  authenticatedMedia: boolean;
  /** true: answer Range with 206; false: ignore it and send 200, as Synapse does. */
  rangeSupport: boolean;
  /** true: media uploaded from now on is frozen on the legacy endpoints (404 M_NOT_FOUND). */
  freezeNewMedia: boolean;
  /** Sends media bodies at this rate (bytes per second) instead of at once; 0 for no limit. */
  mediaBytesPerSecond: number;
  /** Added before every answer. */
  latencyMs: number;
  /** The next N media requests get 429 M_LIMIT_EXCEEDED with `retryAfterMs`. */
  rateLimitNext: number;
  retryAfterMs: number;
  /** The next N media requests get `failStatus` (500 M_UNKNOWN by default). */
  failNext: number;
  failStatus: number;
  /** Media requests are never answered (a hung server). */
  hang: boolean;
  /** The next N /versions requests fail with 500. */
  failVersionsNext: number;
  /** The longest a request waits for a not-yet-uploaded file before 504 (Synapse caps at 60 s). */
  maxUploadWaitMs: number;
  /** Authenticated downloads answer with a redirect: to this server again, or to the CDN origin. */
  redirect: { status: 307 | 308; to: 'same-origin' | 'cdn' } | null;
  /** Media larger than this answers 502 M_TOO_LARGE, as over-large remote media does; 0: no limit. */
  maxServedBytes: number;
  /** Access tokens issued with a refresh token expire after this long; 0: never. */
  accessTokenLifetimeMs: number;
  /**
   * Cache-Control of downloads: Synapse's `public,max-age=86400,…` by default. Tests of "no
   * second download" set `no-cache`, so that the browser's HTTP cache cannot hide a missing store.
   */
  mediaCacheControl: string;
  /** Media requests get their connection closed without an answer (a server that cannot be reached). */
  dropMediaConnections: boolean;
  /** /versions is never answered (a server that hangs on it). */
  hangVersions: boolean;
  /** Matrix error bodies stop after 11 bytes and the connection stays open (a body that hangs). */
  stallErrorBodies: boolean;
  /**
   * A gateway in front of `/_matrix/client/v1/media/*` answers every request there, preflights
   * included, with this status and an HTML page without CORS headers (a media worker down behind
   * a proxy); 0: off. /versions and the legacy endpoints are not behind it.
   */
  mediaGatewayStatus: number;
  /** Extra headers on every download and thumbnail (not exposed to scripts of other origins). */
  mediaExtraHeaders: Record<string, string>;
}

export interface HomeserverOptions extends Partial<HomeserverConfig> {
  host?: string;
  port?: number;
  serverName?: string;
  /** Keep media in this folder (and load what is there) instead of memory alone. */
  mediaFolder?: string;
  /** Serve /_test/… control endpoints (config, log, token expiry, media list). Default true. */
  testControls?: boolean;
}

/** One request as a server received it, for tests to inspect. */
export interface LoggedRequest {
  /** `homeserver`, or `cdn` for the second origin. */
  origin: 'homeserver' | 'cdn';
  method: string;
  path: string;
  authorization: string | null;
  range: string | null;
  status: number;
  /** When it arrived (Date.now()). */
  time: number;
  /** Bytes written to the connection for the response, headers included (known once it closes). */
  bytes: number;
  /** True once the response has closed, finished or abandoned. */
  closed: boolean;
}

/**
 * What a test makes the n-th download of a file (1-based) get instead of the honest answer: a
 * server that changes the bytes between requests, cuts the connection, or streams without a
 * length. The security review's findings are shown against these.
 */
export interface DownloadTwist {
  /** Every byte XORed with this value (other bytes than the ones uploaded, as a malicious server sends). */
  xor?: number;
  /** The full Content-Length is sent, then this many bytes of the body, then the connection is reset. */
  resetAfter?: number;
  /** The full Content-Length is sent, then this many bytes, then nothing more (the connection stays open). */
  stallAfter?: number;
  /** No Content-Length: the body goes chunked, as through a proxy that streams. */
  omitLength?: boolean;
}

export interface Homeserver {
  url: string;
  /** Decides, per media ID and download count, what a download gets (tests only; undefined: honest answers). */
  downloadScript: ((mediaId: string, nth: number) => DownloadTwist | undefined) | undefined;
  /** The second origin that redirects can point to. */
  cdnUrl: string;
  serverName: string;
  config: HomeserverConfig;
  log: LoggedRequest[];
  accounts: Accounts;
  media: MediaStore;
  /** Creates an account and returns an access token for it. */
  register(username: string, password: string): string;
  /** Logs in again as a registered user: a new device and access token. */
  login(username: string, password: string): string;
  /** Stores media as an upload would and returns its mxc URI. */
  addMedia(data: Buffer, contentType: string, fileName?: string): string;
  /** Removes media as a moderator does: downloads of `mxc` answer `status` from now on (404: deleted or quarantined). */
  removeMedia(mxc: string, status?: 403 | 404 | 410): void;
  close(): Promise<void>;
}

const MEDIA_PATH =
  /^\/_matrix\/(media\/(?:r0|v1|v3)|client\/v1\/media)\/(download|thumbnail|config|preview_url)(?:\/([^/]*)\/([^/]*)(?:\/([^/]+))?)?$/;
const DEFAULT_TIMEOUT_MS = 20_000;

/** `Bearer <token>` → `Bearer sha256:<12 hex>`; anything else is kept as it came. */
function fingerprint(authorization: string | null): string | null {
  const match = authorization === null ? null : /^Bearer (\S+)$/.exec(authorization);
  if (!match) return authorization;
  return `Bearer sha256:${createHash('sha256').update(match[1]!).digest('hex').slice(0, 12)}`;
}

export function defaultConfig(options: Partial<HomeserverConfig> = {}): HomeserverConfig {
  return {
    versions: ['v1.1', 'v1.10', 'v1.11', 'v1.12'],
    unstableFeatures: {},
    authenticatedMedia: true,
    rangeSupport: true,
    freezeNewMedia: true,
    mediaBytesPerSecond: 0,
    latencyMs: 0,
    rateLimitNext: 0,
    retryAfterMs: 1000,
    failNext: 0,
    failStatus: 500,
    hang: false,
    failVersionsNext: 0,
    maxUploadWaitMs: 60_000,
    redirect: null,
    maxServedBytes: 0,
    accessTokenLifetimeMs: 0,
    mediaCacheControl: 'public,max-age=86400,s-maxage=0,proxy-revalidate',
    dropMediaConnections: false,
    hangVersions: false,
    stallErrorBodies: false,
    mediaGatewayStatus: 0,
    mediaExtraHeaders: {},
    ...options,
  };
}

function listen(server: Server, host: string, port: number): Promise<string> {
  return new Promise((resolve) =>
    server.listen(port, host, () => {
      const address = server.address() as AddressInfo;
      resolve(`http://${address.address}:${address.port}`);
    }),
  );
}

export async function startHomeserver(options: HomeserverOptions = {}): Promise<Homeserver> {
  const { host = '127.0.0.1', port = 0, serverName = 'localhost', mediaFolder, testControls = true, ...overrides } = options;
  const config = defaultConfig(overrides);
  const accounts = new Accounts(serverName);
  const store = new MediaStore(serverName, mediaFolder);
  const log: LoggedRequest[] = [];
  const hungResponses = new Set<ServerResponse>();
  /** GETs of each media ID's download so far, for downloadScript. */
  const downloads = new Map<string, number>();

  function sendMedia(req: IncomingMessage, res: ServerResponse, body: Buffer, headers: Record<string, string | number>): void {
    headers = { ...CORS_HEADERS, 'Access-Control-Expose-Headers': 'Content-Range, Accept-Ranges', ...headers };
    const rangeHeader = req.headers.range;
    if (config.rangeSupport) headers['Accept-Ranges'] = 'bytes';
    if (config.rangeSupport && rangeHeader) {
      const range = parseRangeHeader(rangeHeader, body.length);
      if (range === 'unsatisfiable') {
        res.writeHead(416, { ...headers, 'Content-Range': `bytes */${body.length}`, 'Content-Length': 0 });
        res.end();
        return;
      }
      if (range) {
        res.writeHead(206, { ...headers, 'Content-Range': `bytes ${range.start}-${range.end}/${body.length}`, 'Content-Length': range.end - range.start + 1 });
        writeBody(req, res, body.subarray(range.start, range.end + 1));
        return;
      }
    }
    res.writeHead(200, { ...headers, 'Content-Length': body.length });
    writeBody(req, res, body);
  }

  /** Writes a body, slowly when mediaBytesPerSecond asks for it (a far-away server). */
  function writeBody(req: IncomingMessage, res: ServerResponse, body: Buffer): void {
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    const rate = config.mediaBytesPerSecond;
    if (rate <= 0) {
      res.end(body);
      return;
    }
    const chunkSize = Math.max(1024, Math.floor(rate / 20));
    let offset = 0;
    const timer = setInterval(() => {
      res.write(body.subarray(offset, offset + chunkSize));
      offset += chunkSize;
      if (offset >= body.length) {
        clearInterval(timer);
        res.end();
      }
    }, 50);
    res.on('close', () => clearInterval(timer));
  }

  async function findMedia(server: string, mediaId: string, legacy: boolean, url: URL): Promise<StoredMedia> {
    if (!isValidServerName(server)) throw new MatrixError(400, 'M_INVALID_PARAM', 'Invalid server name');
    if (!isValidMediaId(mediaId)) throw new MatrixError(400, 'M_INVALID_PARAM', 'Invalid media ID');
    // No federation here: remote media cannot be fetched.
    if (server !== serverName) throw new MatrixError(502, 'M_UNKNOWN', 'Failed to fetch remote media');
    const requested = Number(url.searchParams.get('timeout_ms') ?? DEFAULT_TIMEOUT_MS);
    const timeoutMs = Number.isFinite(requested) && requested >= 0 ? Math.min(requested, config.maxUploadWaitMs) : DEFAULT_TIMEOUT_MS;
    const removed = store.removal(mediaId);
    if (removed) throw removed;
    const item = await store.get(mediaId, timeoutMs);
    // The freeze: legacy endpoints answer as if media uploaded after it did not exist.
    if (!item || (legacy && item.frozen)) throw new MatrixError(404, 'M_NOT_FOUND', 'Not found');
    if (config.maxServedBytes > 0 && item.data.length > config.maxServedBytes) {
      throw new MatrixError(502, 'M_TOO_LARGE', 'Content is too large for the server to serve');
    }
    return item;
  }

  /** Leaves `res` unanswered until the client gives up or the server closes. */
  function hold(res: ServerResponse): void {
    hungResponses.add(res);
    res.on('close', () => hungResponses.delete(res));
  }

  /** A Matrix error as `stallErrorBodies` has it: the full length announced, 11 bytes sent, then nothing. */
  function sendStalledError(res: ServerResponse, error: MatrixError): void {
    const text = Buffer.from(JSON.stringify({ errcode: error.errcode, error: error.message, ...error.extra }));
    res.writeHead(error.status, { ...CORS_HEADERS, ...error.headers, 'Content-Type': 'application/json', 'Content-Length': text.length });
    res.write(text.subarray(0, 11));
    hold(res);
  }

  /** Faults the tests switch on, applied to media requests before anything else. */
  function injectFaults(res: ServerResponse): boolean {
    if (config.dropMediaConnections) {
      res.socket?.destroy();
      return true;
    }
    if (config.hang) {
      hold(res);
      return true;
    }
    if (config.rateLimitNext > 0) {
      config.rateLimitNext -= 1;
      throw new MatrixError(429, 'M_LIMIT_EXCEEDED', 'Too Many Requests', { retry_after_ms: config.retryAfterMs }, {
        'Retry-After': String(Math.ceil(config.retryAfterMs / 1000)),
      });
    }
    if (config.failNext > 0) {
      config.failNext -= 1;
      throw new MatrixError(config.failStatus, 'M_UNKNOWN', 'Internal server error');
    }
    return false;
  }

  async function handleMedia(req: IncomingMessage, res: ServerResponse, url: URL, match: RegExpExecArray): Promise<void> {
    const [, api, endpoint, server, mediaId, fileName] = match;
    const legacy = api !== 'client/v1/media';
    if (!legacy && !config.authenticatedMedia) throw new MatrixError(404, 'M_UNRECOGNIZED', 'Unrecognized request');
    if (injectFaults(res)) return;
    if (!legacy) accounts.authenticate(req, url);

    if (endpoint === 'config' || endpoint === 'preview_url') {
      if (server !== undefined) throw new MatrixError(404, 'M_UNRECOGNIZED', 'Unrecognized request');
      if (endpoint === 'config') return sendJson(res, 200, { 'm.upload.size': 52428800 });
      return sendJson(res, 200, await previewUrl(url.searchParams.get('url')));
    }
    if (server === undefined || mediaId === undefined) throw new MatrixError(404, 'M_UNRECOGNIZED', 'Unrecognized request');
    if (endpoint === 'thumbnail' && fileName !== undefined) throw new MatrixError(404, 'M_UNRECOGNIZED', 'Unrecognized request');
    const thumbnailRequest = endpoint === 'thumbnail' ? parseThumbnailRequest(url.searchParams) : undefined;
    const item = await findMedia(decodeURIComponent(server), decodeURIComponent(mediaId), legacy, url);

    if (!legacy && endpoint === 'download' && config.redirect) {
      const target = config.redirect.to === 'cdn' ? `${cdnUrl}/cdn/${item.mediaId}` : `/_test/redirected/${item.mediaId}`;
      res.writeHead(config.redirect.status, { ...CORS_HEADERS, Location: target, 'Content-Length': 0 });
      res.end();
      return;
    }
    if (thumbnailRequest) {
      const thumb = await thumbnail(item, thumbnailRequest);
      // Synapse: thumbnails are a bare "inline", without a file name and without the CSP.
      return sendMedia(req, res, thumb.data, {
        'Content-Type': thumb.contentType,
        'Content-Disposition': 'inline',
        'Cross-Origin-Resource-Policy': 'cross-origin',
        'Cache-Control': 'public,max-age=86400,s-maxage=0,proxy-revalidate',
      });
    }
    const headers = mediaHeaders(item, fileName === undefined ? undefined : decodeURIComponent(fileName));
    const nth = (downloads.get(item.mediaId) ?? 0) + 1;
    if (req.method === 'GET') downloads.set(item.mediaId, nth);
    const twist = req.method === 'GET' ? homeserverApi.downloadScript?.(item.mediaId, nth) : undefined;
    if (!twist) return sendMedia(req, res, item.data, headers);
    sendTwisted(res, twist.xor === undefined ? item.data : Buffer.from(item.data.map((byte) => byte ^ twist.xor!)), headers, twist);
  }

  /** A download as `twist` has it: other bytes, no length, or a connection cut or silent part way. */
  function sendTwisted(res: ServerResponse, body: Buffer, headers: Record<string, string>, twist: DownloadTwist): void {
    const all = { ...CORS_HEADERS, 'Access-Control-Expose-Headers': 'Content-Range, Accept-Ranges', ...headers };
    res.writeHead(200, twist.omitLength ? all : { ...all, 'Content-Length': body.length });
    const cut = twist.resetAfter ?? twist.stallAfter;
    if (cut === undefined) return void res.end(body);
    res.write(body.subarray(0, cut), () => {
      if (twist.resetAfter !== undefined) res.destroy();
      else hungResponses.add(res);
    });
  }

  function mediaHeaders(item: StoredMedia, fileName: string | undefined): Record<string, string> {
    return {
      'Content-Type': servedContentType(item.contentType),
      'Content-Disposition': contentDisposition(item.contentType, fileName ?? item.fileName),
      'Content-Security-Policy': SPEC_MEDIA_CSP,
      'Cross-Origin-Resource-Policy': 'cross-origin',
      'Cache-Control': config.mediaCacheControl,
      'Referrer-Policy': 'no-referrer',
      ...config.mediaExtraHeaders,
    };
  }

  async function handleTestControl(req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> {
    const path = url.pathname;
    if (path === '/_test/config' && req.method === 'GET') return (sendJson(res, 200, config), true);
    if (path === '/_test/config' && req.method === 'POST') {
      Object.assign(config, await readJson(req));
      accounts.accessTokenLifetimeMs = config.accessTokenLifetimeMs;
      return (sendJson(res, 200, config), true);
    }
    if (path === '/_test/log' && req.method === 'GET') {
      // Over HTTP the log names tokens by fingerprint only: enough to tell them apart, useless to use.
      const redacted = log.map((entry) => ({ ...entry, authorization: fingerprint(entry.authorization) }));
      return (sendJson(res, 200, { log: redacted }), true);
    }
    if (path === '/_test/log' && req.method === 'DELETE') return ((log.length = 0), sendJson(res, 200, {}), true);
    if (path === '/_test/expire-tokens' && req.method === 'POST') {
      const body = await readJson(req);
      const user = typeof body.user === 'string' ? accounts.userIdOf(body.user) : undefined;
      return (sendJson(res, 200, { expired: accounts.expireAccessTokens(user) }), true);
    }
    if (path === '/_test/media' && req.method === 'GET') {
      // Lets the demo page find the seeded media without a room to read it from.
      const media = store.list().map((m) => ({ mxc: m.mxc, contentType: m.contentType, fileName: m.fileName ?? null, size: m.data.length }));
      return (sendJson(res, 200, { media }), true);
    }
    const redirected = /^\/_test\/redirected\/([A-Za-z0-9_-]+)$/.exec(path);
    if (redirected && req.method === 'GET') {
      // A same-origin redirect target: the token must still arrive here.
      accounts.authenticate(req, url);
      const item = await findMedia(serverName, redirected[1]!, false, url);
      return (sendMedia(req, res, item.data, mediaHeaders(item, undefined)), true);
    }
    return false;
  }

  async function route(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const path = url.pathname;
    const method = req.method ?? 'GET';
    if (config.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, config.latencyMs));
    if (testControls && path.startsWith('/_test/') && (await handleTestControl(req, res, url))) return;

    if (path === '/_matrix/client/versions' && method === 'GET') {
      if (config.hangVersions) return void hold(res);
      if (config.failVersionsNext > 0) {
        config.failVersionsNext -= 1;
        throw new MatrixError(500, 'M_UNKNOWN', 'Internal server error');
      }
      return sendJson(res, 200, { versions: config.versions, unstable_features: config.unstableFeatures });
    }
    if (path === '/_matrix/client/v3/register' && method === 'POST') {
      const body = await readJson(req);
      if ((body.auth as { type?: string } | undefined)?.type !== 'm.login.dummy') {
        return sendJson(res, 401, { session: 'dummy', flows: [{ stages: ['m.login.dummy'] }], params: {} });
      }
      if (typeof body.username !== 'string' || typeof body.password !== 'string') {
        throw new MatrixError(400, 'M_BAD_JSON', '"username" and "password" are required.');
      }
      return sendJson(res, 200, accounts.register(body.username, body.password, body.refresh_token === true));
    }
    if (path === '/_matrix/client/v3/login' && method === 'GET') {
      return sendJson(res, 200, { flows: [{ type: 'm.login.password' }] });
    }
    if (path === '/_matrix/client/v3/login' && method === 'POST') {
      const body = await readJson(req);
      const identifier = body.identifier as { type?: string; user?: string } | undefined;
      const user = identifier?.user ?? body.user;
      if (body.type !== 'm.login.password' || typeof user !== 'string' || typeof body.password !== 'string') {
        throw new MatrixError(400, 'M_UNKNOWN', 'Only m.login.password with an m.id.user identifier is supported.');
      }
      return sendJson(res, 200, { ...accounts.login(user, body.password, body.refresh_token === true), home_server: serverName });
    }
    if (path === '/_matrix/client/v3/refresh' && method === 'POST') {
      const body = await readJson(req);
      if (typeof body.refresh_token !== 'string') throw new MatrixError(400, 'M_BAD_JSON', '"refresh_token" is required.');
      const { access_token, refresh_token, expires_in_ms } = accounts.refresh(body.refresh_token);
      return sendJson(res, 200, { access_token, refresh_token, expires_in_ms });
    }
    if (path === '/_matrix/client/v3/account/whoami' && method === 'GET') {
      const { userId, deviceId } = accounts.authenticate(req, url);
      return sendJson(res, 200, { user_id: userId, device_id: deviceId });
    }
    if (path === '/_matrix/client/v3/logout' && method === 'POST') {
      accounts.logout(accounts.authenticate(req, url).token);
      return sendJson(res, 200, {});
    }
    if (path === '/_matrix/media/v3/upload' && method === 'POST') {
      const { userId } = accounts.authenticate(req, url);
      const data = await readBody(req);
      const item = store.add(data, req.headers['content-type'] ?? 'application/octet-stream', url.searchParams.get('filename') ?? undefined, userId, config.freezeNewMedia);
      return sendJson(res, 200, { content_uri: item.mxc });
    }
    if (path === '/_matrix/media/v1/create' && method === 'POST') {
      return sendJson(res, 200, store.create(accounts.authenticate(req, url).userId));
    }
    const uploadTo = /^\/_matrix\/media\/v3\/upload\/([^/]+)\/([^/]+)$/.exec(path);
    if (uploadTo && method === 'PUT') {
      const { userId } = accounts.authenticate(req, url);
      const [, server, mediaId] = uploadTo;
      if (decodeURIComponent(server!) !== serverName) throw new MatrixError(404, 'M_NOT_FOUND', 'Unknown media ID');
      const data = await readBody(req);
      const type = req.headers['content-type'] ?? 'application/octet-stream';
      store.fill(decodeURIComponent(mediaId!), userId, data, type, url.searchParams.get('filename') ?? undefined, config.freezeNewMedia);
      return sendJson(res, 200, {});
    }
    const mediaMatch = MEDIA_PATH.exec(path);
    if (mediaMatch && (method === 'GET' || method === 'HEAD')) return handleMedia(req, res, url, mediaMatch);
    throw new MatrixError(404, 'M_UNRECOGNIZED', 'Unrecognized request');
  }

  function logged(origin: LoggedRequest['origin'], req: IncomingMessage, res: ServerResponse, url: URL): void {
    const entry: LoggedRequest = {
      origin,
      method: req.method ?? 'GET',
      path: url.pathname + url.search,
      authorization: req.headers.authorization ?? null,
      range: req.headers.range ?? null,
      status: 0,
      time: Date.now(),
      bytes: 0,
      closed: false,
    };
    log.push(entry);
    // A response the client abandoned keeps status 0.
    res.on('finish', () => (entry.status = res.statusCode));
    // HTTP/1.1 serves one response at a time per connection, so the socket's count is this one's.
    const before = req.socket.bytesWritten;
    res.on('close', () => {
      entry.bytes = req.socket.bytesWritten - before;
      entry.closed = true;
    });
  }

  const homeserver: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://homeserver.invalid');
    logged('homeserver', req, res, url);
    if (config.mediaGatewayStatus > 0 && url.pathname.startsWith('/_matrix/client/v1/media/')) {
      const page = `<html><body><h1>${config.mediaGatewayStatus} Service Temporarily Unavailable</h1></body></html>`;
      res.writeHead(config.mediaGatewayStatus, { 'Content-Type': 'text/html', 'Content-Length': Buffer.byteLength(page) });
      res.end(page);
      return;
    }
    if (req.method === 'OPTIONS') {
      // The spec: OPTIONS is answered without auth and without logic.
      res.writeHead(204, CORS_HEADERS);
      res.end();
      return;
    }
    route(req, res, url).catch((error: unknown) => {
      if (res.headersSent) return void res.destroy();
      const matrixError = error instanceof MatrixError ? error : new MatrixError(500, 'M_UNKNOWN', 'Internal server error');
      if (config.stallErrorBodies) sendStalledError(res, matrixError);
      else sendError(res, matrixError);
    });
  });

  // The second origin: serves media by ID without authentication, as a CDN behind presigned
  // URLs does, and records whether a token arrived anyway.
  const cdn: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://cdn.invalid');
    logged('cdn', req, res, url);
    const match = /^\/cdn\/([A-Za-z0-9_-]+)$/.exec(url.pathname);
    if (req.method === 'OPTIONS') {
      res.writeHead(204, CORS_HEADERS);
      res.end();
      return;
    }
    const item = match ? store.list().find((m) => m.mediaId === match[1]) : undefined;
    if (!item) return sendError(res, new MatrixError(404, 'M_NOT_FOUND', 'Not found'));
    sendMedia(req, res, item.data, { 'Content-Type': item.contentType, 'Cross-Origin-Resource-Policy': 'cross-origin' });
  });

  const url = await listen(homeserver, host, port);
  const cdnUrl = await listen(cdn, host, 0);
  accounts.accessTokenLifetimeMs = config.accessTokenLifetimeMs;

  const homeserverApi: Homeserver = {
    downloadScript: undefined,
    url,
    cdnUrl,
    serverName,
    config,
    log,
    accounts,
    media: store,
    register: (username, password) => accounts.register(username, password).access_token,
    login: (username, password) => accounts.login(username, password, false).access_token,
    removeMedia: (mxc, status) => store.withhold(mxc.split('/').pop()!, status),
    addMedia: (data, contentType, fileName) => store.add(data, contentType, fileName, '@seed:' + serverName, config.freezeNewMedia).mxc,
    close: async () => {
      for (const server of [homeserver, cdn]) {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    },
  };
  return homeserverApi;
}
