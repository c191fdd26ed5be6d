import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A small proxy in front of Synapse that counts the body bytes of every media download it
 * passes back: Synapse's own log does not say how much of a response reached the browser, and
 * a download the worker cancels half-way sends only part of the file.
 */
export interface CountingProxy {
  url: string;
  /** Body bytes of media GET responses sent to the browser so far. */
  mediaBytes: number;
  /** Media GET requests seen so far. */
  mediaRequests: number;
  close(): Promise<void>;
}

const MEDIA_PATH = /\/_matrix\/(media|client\/v1\/media)\//;

export async function startCountingProxy(target: string): Promise<CountingProxy> {
  const upstream = new URL(target);
  const proxy: CountingProxy = {
    url: '',
    mediaBytes: 0,
    mediaRequests: 0,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  const server: Server = createServer((req, res) => {
    const counted = req.method === 'GET' && MEDIA_PATH.test(req.url ?? '');
    if (counted) proxy.mediaRequests += 1;
    const forward = request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: { ...req.headers, host: upstream.host } },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.on('data', (chunk: Buffer) => {
          if (counted) proxy.mediaBytes += chunk.length;
        });
        answer.pipe(res);
        // The browser gave up on the body: stop reading from Synapse, so nothing more is counted.
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
