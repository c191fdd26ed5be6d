import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isValidMediaId, isValidServerName } from '../../src/mxc.js';
import { parseRangeHeader } from '../../sw/rangeResponse.js';
import { contentDisposition, servedContentType, SPEC_MEDIA_CSP } from './mediaHeaders.js';

/**
 * The embedded homeserver: the parts of the Matrix client-server API that media needs, behaving
 * as the spec says and Synapse does, with switches for what tests must provoke on demand.
 * It serves on its own origin (127.0.0.1), apart from the page (localhost).
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
}

export interface HomeserverOptions extends Partial<HomeserverConfig> {
  host?: string;
  port?: number;
  serverName?: string;
}

/** One request as the homeserver received it, for tests to inspect. */
export interface LoggedRequest {
  method: string;
  path: string;
  authorization: string | null;
  range: string | null;
  status: number;
}

interface StoredMedia {
  mxc: string;
  contentType: string;
  fileName: string | undefined;
  data: Buffer;
  /** Uploaded after the freeze: only the authenticated endpoints serve it. */
  frozen: boolean;
}

interface Account {
  password: string;
}

export interface Homeserver {
  url: string;
  serverName: string;
  config: HomeserverConfig;
  log: LoggedRequest[];
  /** Creates an account and returns a fresh access token for it. */
  register(username: string, password: string): string;
  /** Stores media directly, as an upload would, and returns its mxc URI. */
  addMedia(data: Buffer, contentType: string, fileName?: string): string;
  close(): Promise<void>;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly errcode: string,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

const CORS_HEADERS = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Allow-Methods': 'GET, HEAD, POST, PUT, DELETE, OPTIONS',
  // Authorization must be named: a wildcard does not cover it (Fetch, "CORS non-wildcard request-header").
  'Access-Control-Allow-Headers': 'X-Requested-With, Content-Type, Authorization, Date',
  'Access-Control-Expose-Headers': 'Content-Range, Accept-Ranges',
};

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...CORS_HEADERS, 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  try {
    const body: unknown = JSON.parse((await readBody(req)).toString('utf8') || '{}');
    if (typeof body === 'object' && body !== null) return body as Record<string, unknown>;
  } catch {
    // fall through
  }
  throw new HttpError(400, 'M_NOT_JSON', 'Content not JSON.');
}

export async function startHomeserver(options: HomeserverOptions = {}): Promise<Homeserver> {
  const config: HomeserverConfig = {
    versions: options.versions ?? ['v1.1', 'v1.10', 'v1.11', 'v1.12'],
    unstableFeatures: options.unstableFeatures ?? {},
    authenticatedMedia: options.authenticatedMedia ?? true,
    rangeSupport: options.rangeSupport ?? true,
    freezeNewMedia: options.freezeNewMedia ?? true,
    mediaBytesPerSecond: options.mediaBytesPerSecond ?? 0,
  };
  const serverName = options.serverName ?? 'localhost';
  const accounts = new Map<string, Account>();
  const tokens = new Map<string, string>(); // token → user ID
  const media = new Map<string, StoredMedia>();
  const log: LoggedRequest[] = [];

  function issueToken(userId: string): string {
    const token = `mmstest_${randomBytes(18).toString('base64url')}`;
    tokens.set(token, userId);
    return token;
  }

  function register(username: string, password: string): string {
    const userId = `@${username}:${serverName}`;
    if (accounts.has(userId)) throw new HttpError(400, 'M_USER_IN_USE', 'User ID already taken.');
    accounts.set(userId, { password });
    return issueToken(userId);
  }

  function addMedia(data: Buffer, contentType: string, fileName?: string): string {
    const mediaId = randomBytes(18).toString('base64url').replace(/[^A-Za-z]/g, '').slice(0, 24).padEnd(24, 'x');
    const mxc = `mxc://${serverName}/${mediaId}`;
    media.set(mediaId, { mxc, contentType, fileName, data, frozen: config.freezeNewMedia });
    return mxc;
  }

  /** The user of the request's token; Synapse's rules, including 401 for header and query together. */
  function authenticate(req: IncomingMessage, url: URL): { userId: string; token: string } {
    const header = req.headers.authorization;
    const query = url.searchParams.get('access_token');
    if (header !== undefined && query !== null) {
      throw new HttpError(401, 'M_MISSING_TOKEN', 'Mixing Authorization headers and access_token query parameters.');
    }
    let token = query;
    if (header !== undefined) {
      const match = /^Bearer (\S+)$/.exec(header);
      if (!match) throw new HttpError(401, 'M_MISSING_TOKEN', 'Invalid Authorization header.');
      token = match[1]!;
    }
    if (token === null) throw new HttpError(401, 'M_MISSING_TOKEN', 'Missing access token');
    const userId = tokens.get(token);
    if (!userId) throw new HttpError(401, 'M_UNKNOWN_TOKEN', 'Unknown access token', { soft_logout: false });
    return { userId, token };
  }

  function findMedia(serverNameInPath: string, mediaId: string, legacy: boolean): StoredMedia {
    if (!isValidServerName(serverNameInPath)) throw new HttpError(400, 'M_INVALID_PARAM', 'Invalid server name');
    if (!isValidMediaId(mediaId)) throw new HttpError(400, 'M_INVALID_PARAM', 'Invalid media ID');
    const item = serverNameInPath === serverName ? media.get(mediaId) : undefined;
    // The freeze: legacy endpoints answer as if media uploaded after it did not exist.
    if (!item || (legacy && item.frozen)) throw new HttpError(404, 'M_NOT_FOUND', 'Not found');
    return item;
  }

  function sendMedia(req: IncomingMessage, res: ServerResponse, item: StoredMedia, fileName: string | undefined, thumbnail: boolean): void {
    const headers: Record<string, string | number> = {
      ...CORS_HEADERS,
      'Content-Type': servedContentType(item.contentType),
      'Content-Disposition': thumbnail ? 'inline' : contentDisposition(item.contentType, fileName ?? item.fileName),
      'Cross-Origin-Resource-Policy': 'cross-origin',
      'Cache-Control': 'public,max-age=86400,s-maxage=0,proxy-revalidate',
    };
    if (!thumbnail) headers['Content-Security-Policy'] = SPEC_MEDIA_CSP;
    const rangeHeader = req.headers.range;
    if (config.rangeSupport) headers['Accept-Ranges'] = 'bytes';
    if (config.rangeSupport && rangeHeader) {
      const range = parseRangeHeader(rangeHeader, item.data.length);
      if (range === 'unsatisfiable') {
        res.writeHead(416, { ...headers, 'Content-Range': `bytes */${item.data.length}`, 'Content-Length': 0 });
        res.end();
        return;
      }
      if (range) {
        res.writeHead(206, {
          ...headers,
          'Content-Range': `bytes ${range.start}-${range.end}/${item.data.length}`,
          'Content-Length': range.end - range.start + 1,
        });
        writeBody(req, res, item.data.subarray(range.start, range.end + 1));
        return;
      }
    }
    res.writeHead(200, { ...headers, 'Content-Length': item.data.length });
    writeBody(req, res, item.data);
  }

  /** Writes a media body, slowly when mediaBytesPerSecond asks for it (a far-away server). */
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
      if (res.destroyed) {
        clearInterval(timer);
        return;
      }
      res.write(body.subarray(offset, offset + chunkSize));
      offset += chunkSize;
      if (offset >= body.length) {
        clearInterval(timer);
        res.end();
      }
    }, 50);
    res.on('close', () => clearInterval(timer));
  }

  // /_matrix/media/{r0,v1,v3}/… (legacy) and /_matrix/client/v1/media/… (authenticated).
  const MEDIA_PATH = /^\/_matrix\/(media\/(?:r0|v1|v3)|client\/v1\/media)\/(download|thumbnail|config)(?:\/([^/]*)\/([^/]*)(?:\/([^/]+))?)?$/;

  async function route(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const path = url.pathname;
    const method = req.method ?? 'GET';

    if (path === '/_test/media' && method === 'GET') {
      // Not Matrix: lets the demo page find the seeded media without a room to read it from.
      return sendJson(res, 200, {
        media: [...media.values()].map((m) => ({ mxc: m.mxc, contentType: m.contentType, fileName: m.fileName ?? null, size: m.data.length })),
      });
    }
    if (path === '/_matrix/client/versions' && method === 'GET') {
      return sendJson(res, 200, { versions: config.versions, unstable_features: config.unstableFeatures });
    }
    if (path === '/_matrix/client/v3/register' && method === 'POST') {
      const body = await readJson(req);
      const auth = body.auth as { type?: string } | undefined;
      if (auth?.type !== 'm.login.dummy') {
        return sendJson(res, 401, { session: 'dummy', flows: [{ stages: ['m.login.dummy'] }], params: {} });
      }
      if (typeof body.username !== 'string' || typeof body.password !== 'string') {
        throw new HttpError(400, 'M_BAD_JSON', 'username and password are required.');
      }
      const token = register(body.username, body.password);
      return sendJson(res, 200, { user_id: tokens.get(token), access_token: token, device_id: 'DEVICE' });
    }
    if (path === '/_matrix/client/v3/login' && method === 'POST') {
      const body = await readJson(req);
      const identifier = body.identifier as { type?: string; user?: string } | undefined;
      const user = identifier?.user ?? (body.user as string | undefined);
      if (body.type !== 'm.login.password' || typeof user !== 'string' || typeof body.password !== 'string') {
        throw new HttpError(400, 'M_UNKNOWN', 'Only m.login.password with a user identifier is supported.');
      }
      const userId = user.startsWith('@') ? user : `@${user}:${serverName}`;
      if (accounts.get(userId)?.password !== body.password) throw new HttpError(403, 'M_FORBIDDEN', 'Invalid username or password');
      return sendJson(res, 200, { user_id: userId, access_token: issueToken(userId), device_id: 'DEVICE', home_server: serverName });
    }
    if (path === '/_matrix/client/v3/account/whoami' && method === 'GET') {
      return sendJson(res, 200, { user_id: authenticate(req, url).userId, device_id: 'DEVICE' });
    }
    if (path === '/_matrix/client/v3/logout' && method === 'POST') {
      tokens.delete(authenticate(req, url).token);
      return sendJson(res, 200, {});
    }
    if (path === '/_matrix/media/v3/upload' && method === 'POST') {
      authenticate(req, url);
      const data = await readBody(req);
      const contentType = req.headers['content-type'] ?? 'application/octet-stream';
      return sendJson(res, 200, { content_uri: addMedia(data, contentType, url.searchParams.get('filename') ?? undefined) });
    }

    const mediaMatch = MEDIA_PATH.exec(path);
    if (mediaMatch && (method === 'GET' || method === 'HEAD')) {
      const [, api, endpoint, server, mediaId, fileName] = mediaMatch;
      const legacy = api !== 'client/v1/media';
      if (!legacy) {
        if (!config.authenticatedMedia) throw new HttpError(404, 'M_UNRECOGNIZED', 'Unrecognized request');
        authenticate(req, url);
      }
      if (endpoint === 'config') {
        if (server !== undefined) throw new HttpError(404, 'M_UNRECOGNIZED', 'Unrecognized request');
        return sendJson(res, 200, { 'm.upload.size': 52428800 });
      }
      if (server === undefined || mediaId === undefined) throw new HttpError(404, 'M_UNRECOGNIZED', 'Unrecognized request');
      if (endpoint === 'thumbnail') {
        if (fileName !== undefined) throw new HttpError(404, 'M_UNRECOGNIZED', 'Unrecognized request');
        const width = url.searchParams.get('width');
        const height = url.searchParams.get('height');
        if (width === null || height === null) throw new HttpError(400, 'M_MISSING_PARAM', 'Missing integer query parameter "width"');
        if (!/^\d+$/.test(width) || !/^\d+$/.test(height)) throw new HttpError(400, 'M_INVALID_PARAM', 'Query parameter "width" must be an integer');
      }
      const item = findMedia(decodeURIComponent(server), decodeURIComponent(mediaId), legacy);
      if (endpoint === 'thumbnail' && !item.contentType.startsWith('image/')) {
        throw new HttpError(400, 'M_UNKNOWN', 'Cannot find any thumbnails for the requested media');
      }
      return sendMedia(req, res, item, fileName === undefined ? undefined : decodeURIComponent(fileName), endpoint === 'thumbnail');
    }

    throw new HttpError(404, 'M_UNRECOGNIZED', 'Unrecognized request');
  }

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://homeserver.invalid');
    const entry: LoggedRequest = {
      method: req.method ?? 'GET',
      path: url.pathname + url.search,
      authorization: req.headers.authorization ?? null,
      range: req.headers.range ?? null,
      status: 0,
    };
    log.push(entry);
    res.on('finish', () => (entry.status = res.statusCode));
    if (req.method === 'OPTIONS') {
      // The spec: OPTIONS is answered without auth and without logic.
      res.writeHead(204, CORS_HEADERS);
      res.end();
      return;
    }
    route(req, res, url).catch((error: unknown) => {
      if (error instanceof HttpError) {
        sendJson(res, error.status, { errcode: error.errcode, error: error.message, ...error.extra });
      } else {
        sendJson(res, 500, { errcode: 'M_UNKNOWN', error: 'Internal server error' });
      }
    });
  });

  await new Promise<void>((resolve) => server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve));
  const { address, port } = server.address() as AddressInfo;
  return {
    url: `http://${address}:${port}`,
    serverName,
    config,
    log,
    register,
    addMedia,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
