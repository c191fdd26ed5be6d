import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'vite';
import { startAppServer, type AppServer } from '../browser/appServer.js';
import { readmeExample } from '../unit/packedPackage.js';

/**
 * The test apps a user's bundler would build. A small app's own Workbox worker with the add-on in it (tests/workbox-app/sw.ts), built as a
 * user's bundler would: `matrix-media-sw/workbox` resolved by package name to dist/. Built once
 * per test process; the paths map URLs to the files to serve there.
 */

const ROOT = resolve(import.meta.dirname, '../..');
let built: Promise<Record<string, string>> | undefined;

export function workboxAppFiles(): Promise<Record<string, string>> {
  built ??= (async () => {
    const out = mkdtempSync(join(tmpdir(), 'mms-workbox-app-'));
    await build({
      configFile: false,
      logLevel: 'warn',
      root: ROOT,
      define: { 'process.env.NODE_ENV': JSON.stringify('production') },
      build: {
        outDir: out,
        emptyOutDir: true,
        minify: false,
        lib: { entry: resolve(ROOT, 'tests/workbox-app/sw.ts'), formats: ['iife'], name: 'appWorker', fileName: () => 'app-sw.js' },
      },
    });
    return { '/app-sw.js': join(out, 'app-sw.js'), '/shell.html': resolve(ROOT, 'tests/workbox-app/shell.html') };
  })();
  return built;
}

let sdkBuilt: Promise<string> | undefined;

/** The matrix-js-sdk test client (tests/sdk-app), bundled by Vite as a client app is; built once per process. */
export function sdkAppDir(): Promise<string> {
  sdkBuilt ??= (async () => {
    const out = mkdtempSync(join(tmpdir(), 'mms-sdk-app-'));
    await build({ configFile: false, logLevel: 'warn', root: resolve(ROOT, 'tests/sdk-app'), build: { outDir: out, emptyOutDir: true, minify: false } });
    return out;
  })();
  return sdkBuilt;
}

/** The matrix-js-sdk test client served on its own origin, the package's dist/ beside it (the worker script). */
export async function startSdkApp(): Promise<AppServer> {
  return startAppServer([await sdkAppDir(), resolve(ROOT, 'dist')]);
}

let pwaBuilt: Promise<string> | undefined;

/**
 * A PWA built as the README's vite-plugin-pwa recipe says: its `src/sw.ts` and `vite.config.ts`
 * are the README's code blocks, its page tests/pwa-app. Built inside the checkout (.cache/), so
 * that `matrix-media-sw` resolves to this package by name; once per process. Resolves to the
 * folder to serve.
 */
export function pwaAppDir(): Promise<string> {
  pwaBuilt ??= (async () => {
    const app = resolve(ROOT, '.cache/pwa-app');
    rmSync(app, { recursive: true, force: true });
    mkdirSync(resolve(app, 'src'), { recursive: true });
    writeFileSync(resolve(app, 'src/sw.ts'), readmeExample('vite-plugin-pwa: worker'));
    writeFileSync(resolve(app, 'vite.config.ts'), readmeExample('vite-plugin-pwa: config'));
    copyFileSync(resolve(ROOT, 'tests/pwa-app/index.html'), resolve(app, 'index.html'));
    // The page itself, its import of the test helpers pointed there from here. (Copied, not
    // imported: this package's "sideEffects" would let the bundler drop an import of it.)
    const page = readFileSync(resolve(ROOT, 'tests/pwa-app/main.ts'), 'utf8');
    writeFileSync(resolve(app, 'main.ts'), page.replace("'../browser/pages/helpers.js'", "'../../tests/browser/pages/helpers.js'"));
    const out = mkdtempSync(join(tmpdir(), 'mms-pwa-app-'));
    await build({ root: app, configFile: resolve(app, 'vite.config.ts'), logLevel: 'warn', build: { outDir: out, emptyOutDir: true, minify: false } });
    return out;
  })();
  return pwaBuilt;
}
