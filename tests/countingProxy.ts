import { createHash } from 'node:crypto';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A small proxy in front of a real homeserver (Synapse, Dendrite) that sees what the browser
 * sends: it counts the body bytes of every media download it passes back (a homeserver's own
 * log does not say how much of a response reached the browser, and a download the worker cancels
 * half-way sends only part of the file), and logs every request with whose token it carried.
 * With `answerPreflights` it answers CORS preflights itself, as a deployment whose reverse proxy
 * handles CORS does.
 */
export interface ProxiedRequest {
  method: string;
  path: string;
  /** `sha256:<12 hex>` of the bearer token it carried, or null: enough to tell tokens apart. */
  token: string | null;
  /** The headers a preflight asked to send (Access-Control-Request-Headers), lower case, or null. */
  preflightFor: string | null;
  status: number;
  /** The Range header it carried, or null. */
  range: string | null;
  /** Body bytes of this response passed back (media GETs only). */
  bytes: number;
  /** True once the whole response was passed back; false while it runs or when it was cut. */
  complete: boolean;
  /** True once the browser's connection for it has closed or finished, whole or not. */
  ended: boolean;
}

export interface CountingProxy {
  url: string;
  /** Body bytes of media GET responses sent to the browser so far. */
  mediaBytes: number;
  /** Media GET requests seen so far. */
  mediaRequests: number;
  /** Every request seen, in order. */
  log: ProxiedRequest[];
  /** Called when a response is cut upstream before its end (set by a test). */
  onCut?: (entry: ProxiedRequest) => void;
  close(): Promise<void>;
}

const MEDIA_PATH = /\/_matrix\/(media|client\/v1\/media)\//;

/** The fingerprint the log keeps of a token. */
export const tokenFingerprint = (token: string) => `sha256:${createHash('sha256').update(token).digest('hex').slice(0, 12)}`;

export async function startCountingProxy(target: string, options: { answerPreflights?: boolean } = {}): Promise<CountingProxy> {
  const upstream = new URL(target);
  const proxy: CountingProxy = {
    url: '',
    mediaBytes: 0,
    mediaRequests: 0,
    log: [],
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  const server: Server = createServer((req, res) => {
    const counted = req.method === 'GET' && MEDIA_PATH.test(req.url ?? '');
    if (counted) proxy.mediaRequests += 1;
    const bearer = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '');
    const entry: ProxiedRequest = {
      method: req.method ?? 'GET',
      path: req.url ?? '',
      token: bearer ? tokenFingerprint(bearer[1]!) : null,
      preflightFor: req.method === 'OPTIONS' ? (req.headers['access-control-request-headers'] ?? '').toLowerCase() : null,
      status: 0,
      range: req.headers.range ?? null,
      bytes: 0,
      complete: false,
      ended: false,
    };
    proxy.log.push(entry);
    res.on('close', () => (entry.ended = true));
    res.on('finish', () => {
      entry.status = res.statusCode;
      entry.complete = true;
    });
    if (options.answerPreflights && req.method === 'OPTIONS') {
      res.writeHead(204, {
        'Access-Control-Allow-Origin': '*',
        'Access-Control-Allow-Methods': 'GET, HEAD, POST, PUT, DELETE, OPTIONS',
        'Access-Control-Allow-Headers': 'Authorization, Content-Type, Range',
        'Access-Control-Max-Age': '600',
      });
      res.end();
      return;
    }
    const forward = request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: { ...req.headers, host: upstream.host } },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.on('data', (chunk: Buffer) => {
          if (!counted) return;
          proxy.mediaBytes += chunk.length;
          entry.bytes += chunk.length;
        });
        answer.pipe(res);
        // A response cut upstream is cut for the browser too, not left open and silent.
        answer.on('close', () => {
          if (answer.complete) return;
          res.destroy();
          proxy.onCut?.(entry);
        });
        // The browser gave up on the body: stop reading from the server, so nothing more is counted.
        res.on('close', () => answer.destroy());
      },
    );
    forward.on('error', () => res.destroy());
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return proxy;
}
