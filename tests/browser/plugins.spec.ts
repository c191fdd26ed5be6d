import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { samplePng } from '../../demo/homeserver/png.js';
import { consumerProject, pack, readmeExample, viteBuild, webpackBuild, type Packed } from '../unit/packedPackage.js';
import { startAppServer } from './appServer.js';
import { expect, test } from './fixtures.js';

// The README's build plugins as a client developer adds them: a small app importing
// matrix-media-sw, built from the packed package with the one plugin line of the README, for
// Vite 6 and 8 (dev server and production build) and webpack 5 (production build). Its page
// registers the worker with the defaults and shows an image through it, with the token
// (Chromium and Firefox).

// The page of each app: registration with the defaults, and an image loader for the test.
const PAGE_SCRIPT = `import { registerMediaWorker } from 'matrix-media-sw';
window.start = async (options) => (await registerMediaWorker(options)).mode;
window.loadImage = (src) => new Promise((resolve) => {
  const img = new Image();
  img.onload = () => resolve({ ok: true, width: img.naturalWidth, height: img.naturalHeight });
  img.onerror = () => resolve({ ok: false, width: 0, height: 0 });
  img.src = src;
});
window.ready = true;
`;

let packed: Packed | undefined;
const packOnce = () => (packed ??= pack());

/** A Vite app with the README's config, under Vite `version`; resolves to the project folder. */
function viteApp(name: string, version: 'vite' | 'vite6'): string {
  const app = consumerProject(packOnce(), name, ['vite'], { vite: version });
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name, private: true, type: 'module' }));
  writeFileSync(join(app, 'vite.config.js'), readmeExample('vite'));
  writeFileSync(join(app, 'index.html'), '<!doctype html><meta charset="utf-8"><script type="module" src="/main.js"></script>');
  writeFileSync(join(app, 'main.js'), PAGE_SCRIPT);
  return app;
}

/** Starts Vite's dev server of `app` with its own Vite; resolves to its URL (no trailing slash) and how to stop it. */
async function viteDev(app: string): Promise<{ url: string; close: () => Promise<void> }> {
  const vite = (await import(pathToFileURL(join(app, 'node_modules/vite/dist/node/index.js')).href)) as typeof import('vite');
  const server = await vite.createServer({ root: app, configFile: join(app, 'vite.config.js'), logLevel: 'error', server: { port: 0, host: 'localhost' } });
  await server.listen();
  return { url: server.resolvedUrls!.local[0]!.replace(/\/$/, ''), close: () => server.close() };
}

/** `vite build` in `app`; resolves to the output folder. */
function viteBuilt(app: string): string {
  viteBuild(app);
  return join(app, 'dist');
}

/** A webpack 5 app with the README's config, built in production mode; resolves to the output folder. */
function webpackBuilt(): string {
  const app = consumerProject(packOnce(), 'webpack-plugin-app', ['webpack']);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'webpack-plugin-app', private: true }));
  writeFileSync(join(app, 'webpack.config.js'), readmeExample('webpack'));
  mkdirSync(join(app, 'src'));
  writeFileSync(join(app, 'src/index.js'), PAGE_SCRIPT);
  webpackBuild(app);
  writeFileSync(join(app, 'dist/index.html'), '<!doctype html><meta charset="utf-8"><script src="/main.js"></script>');
  return join(app, 'dist');
}

const builds: Array<{ title: string; serve: () => Promise<{ url: string; close: () => Promise<void> }> }> = [
  { title: 'Vite 8, dev server', serve: () => viteDev(viteApp('vite8-dev', 'vite')) },
  { title: 'Vite 8, production build', serve: () => startAppServer([viteBuilt(viteApp('vite8-build', 'vite'))]) },
  { title: 'Vite 6, dev server', serve: () => viteDev(viteApp('vite6-dev', 'vite6')) },
  { title: 'Vite 6, production build', serve: () => startAppServer([viteBuilt(viteApp('vite6-build', 'vite6'))]) },
  { title: 'webpack 5, production build', serve: () => startAppServer([webpackBuilt()]) },
];

for (const { title, serve } of builds) {
  test(`${title}: the plugin line of the README serves the worker, and an image loads through it with the token`, async ({ page, homeserver }) => {
    test.setTimeout(120_000);
    const app = await serve();
    try {
      const worker = await fetch(`${app.url}/matrix-media-sw.js`);
      expect(worker.status).toBe(200);
      expect(worker.headers.get('content-type')).toMatch(/^(text|application)\/javascript/);
      await page.goto(`${app.url}/`);
      await page.waitForFunction(() => (window as any).ready === true);
      const token = homeserver.register('alice', 'pw');
      expect(await page.evaluate((o) => (window as any).start(o), { homeserverUrl: homeserver.url, accessToken: token })).toBe('service-worker');
      expect(await page.evaluate(() => navigator.serviceWorker.controller?.scriptURL)).toBe(`${app.url}/matrix-media-sw.js`);
      const mxc = homeserver.addMedia(samplePng(13, 7), 'image/png');
      const from = homeserver.log.length;
      expect(await page.evaluate((u) => (window as any).loadImage(u), `${homeserver.url}/_matrix/media/v3/download/${mxc.slice(6)}`)).toEqual({ ok: true, width: 13, height: 7 });
      const sent = homeserver.log.slice(from).filter((r) => r.method === 'GET' && r.path.includes('/media/'));
      expect(sent.map((r) => r.authorization)).toEqual([`Bearer ${token}`]);
    } finally {
      await app.close();
    }
  });
}
