import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../freePort.js';
import { readmeExample, ROOT } from './packedPackage.js';

// The README's server rules for a single-page app, pasted into real nginx and Caddy (Debian's,
// installed by scripts/install-browsers.sh): the worker is served as JavaScript with no-cache,
// a missing worker is a 404 and never the app's index.html, and app routes still get index.html.

const WORKER = join(ROOT, 'dist/matrix-media-sw.js');
let server: ChildProcess | undefined;

afterEach(() => {
  server?.kill('SIGTERM');
  server = undefined;
});

function site(withWorker: boolean): string {
  const root = mkdtempSync(join(tmpdir(), 'mms-site-'));
  // nginx's worker processes drop to an unprivileged user; mkdtemp folders are private.
  chmodSync(root, 0o755);
  writeFileSync(join(root, 'index.html'), '<!doctype html><title>app</title>');
  if (withWorker) copyFileSync(WORKER, join(root, 'matrix-media-sw.js'));
  return root;
}

async function waitForServer(url: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    try {
      await fetch(url);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error(`no server at ${url}`);
}

async function expectRules(base: string): Promise<void> {
  const worker = await fetch(`${base}/matrix-media-sw.js`);
  expect(worker.status).toBe(200);
  expect(worker.headers.get('content-type')).toMatch(/^(application|text)\/javascript/);
  expect(worker.headers.get('cache-control')).toBe('no-cache');
  const route = await fetch(`${base}/rooms/!abc:example.org`);
  expect([route.status, route.headers.get('content-type')]).toEqual([200, expect.stringMatching(/^text\/html/)]);
}

const starters = {
  async nginx(root: string, port: number) {
    const dir = mkdtempSync(join(tmpdir(), 'mms-nginx-'));
    const config = join(dir, 'nginx.conf');
    writeFileSync(
      config,
      `daemon off; pid ${dir}/nginx.pid; error_log ${dir}/error.log; events {}
http {
  include /etc/nginx/mime.types; access_log off;
  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fastcgi; uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
  server {
    listen 127.0.0.1:${port};
    root ${root};
${readmeExample('nginx')}
  }
}`,
    );
    server = spawn('/usr/sbin/nginx', ['-c', config, '-p', dir], { stdio: 'ignore' });
  },
  async caddy(root: string, port: number) {
    const dir = mkdtempSync(join(tmpdir(), 'mms-caddy-'));
    const config = join(dir, 'Caddyfile');
    const rules = readmeExample('caddy').replace('example.org {', `http://127.0.0.1:${port} {`).replace('/srv/app', root);
    writeFileSync(config, `{\n  admin off\n  storage file_system ${dir}\n}\n${rules}`);
    server = spawn('/usr/bin/caddy', ['run', '--config', config, '--adapter', 'caddyfile'], { stdio: 'ignore', env: { ...process.env, HOME: dir, XDG_DATA_HOME: dir, XDG_CONFIG_HOME: dir } });
  },
};

describe("the README's server rules for a single-page app", () => {
  for (const [name, start] of Object.entries(starters)) {
    it(`${name}: the worker as JavaScript with no-cache, app routes get index.html, a missing worker is a 404`, async () => {
      let port = await freePort();
      await start(site(true), port);
      await waitForServer(`http://127.0.0.1:${port}/`);
      await expectRules(`http://127.0.0.1:${port}`);
      server?.kill('SIGTERM');

      port = await freePort();
      await start(site(false), port);
      await waitForServer(`http://127.0.0.1:${port}/`);
      const missing = await fetch(`http://127.0.0.1:${port}/matrix-media-sw.js`);
      expect(missing.status).toBe(404);
    }, 30_000);
  }
});
