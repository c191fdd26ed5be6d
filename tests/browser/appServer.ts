import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize } from 'node:path';

/** The test app's origin (localhost): the built add-on from dist/ and the test pages. */

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.map': 'application/json',
};

export interface AppServer {
  url: string;
  /** Paths the app origin was asked for, to prove which requests reached it. */
  log: string[];
  /** Bump to serve a byte-different worker script: the browser then installs it as an update. */
  workerBuild: number;
  /** Paths answered with another file, as a deploy that replaces one script by another would. */
  overrides: Map<string, string>;
  /**
   * Answer index.html for any path that matches no file, as single-page-app hosts do (nginx
   * `try_files … /index.html`, Netlify `/* /index.html 200`).
   */
  spaFallback: boolean;
  /**
   * A homeserver (its URL) that this origin fronts: `/_matrix/…` goes there, as for a client
   * served from its homeserver's own origin, a common self-hosted setup. Undefined: none.
   */
  proxy: string | undefined;
  /** The file served at `path` from the roots. */
  fileOf(path: string): string;
  close(): Promise<void>;
}

export async function startAppServer(roots: string[]): Promise<AppServer> {
  const app: AppServer = {
    url: '',
    log: [],
    workerBuild: 0,
    overrides: new Map(),
    spaFallback: false,
    proxy: undefined,
    fileOf(path) {
      const file = roots.map((root) => join(root, normalize(path))).find((candidate) => existsSync(candidate));
      if (!file) throw new Error(`no file for ${path}`);
      return file;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  const server: Server = createServer(async (req, res) => {
    const path = new URL(req.url ?? '/', 'http://app.invalid').pathname;
    app.log.push(path);
    if (app.proxy && path.startsWith('/_matrix/')) {
      const upstream = request(`${app.proxy}${req.url}`, { method: req.method, headers: { ...req.headers, host: new URL(app.proxy).host } }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      upstream.on('error', () => res.destroy());
      req.pipe(upstream);
      return;
    }
    const relative = normalize(path === '/' ? '/index.html' : path).replace(/^(\.\.[/\\])+/, '');
    const override = app.overrides.get(relative);
    const candidates = override ? [override] : roots.map((root) => join(root, relative));
    if (app.spaFallback) candidates.push(...roots.map((root) => join(root, 'index.html')));
    for (const file of candidates) {
      try {
        let body = await readFile(file);
        if (relative === '/matrix-media-sw.js' && app.workerBuild > 0) {
          body = Buffer.concat([body, Buffer.from(`\n// test build ${app.workerBuild}\n`)]);
        }
        res.writeHead(200, {
          'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream',
          'Cache-Control': 'no-store',
          // The benchmark's reference workers live in /bench/workers/ but control the whole origin.
          'Service-Worker-Allowed': '/',
        });
        res.end(body);
        return;
      } catch {
        // try the next root
      }
    }
    res.writeHead(404, { 'Content-Type': 'text/plain' });
    res.end('not found');
  });
  await new Promise<void>((resolve) => server.listen(0, 'localhost', resolve));
  const { port } = server.address() as AddressInfo;
  app.url = `http://localhost:${port}`;
  return app;
}
