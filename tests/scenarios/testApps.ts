import { execFileSync } from 'node:child_process';
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

/**
 * The React + matrix-js-sdk app of docs/api.md, its one file the docs' code block with the
 * homeserver's URL and an mxc URI of `avatar` put in: type-checked as a user's editor would
 * (tsc, strict), and built by Vite in development mode, so that React's StrictMode runs mount
 * effects twice as it does for a developer. Built inside the checkout (.cache/) so that
 * `matrix-media-sw` resolves to this package by name.
 */
export async function reactAppDir(homeserverUrl: string, avatar: string): Promise<string> {
  const app = resolve(ROOT, '.cache/react-app');
  rmSync(app, { recursive: true, force: true });
  mkdirSync(app, { recursive: true });
  const recipe = readmeExample('React + matrix-js-sdk');
  if (!recipe.includes("'https://matrix.example.org'") || !recipe.includes("'mxc://example.org/AbCdEf'")) throw new Error('the React recipe no longer names the example homeserver and avatar');
  writeFileSync(resolve(app, 'main.tsx'), recipe.replace("'https://matrix.example.org'", JSON.stringify(homeserverUrl)).replace("'mxc://example.org/AbCdEf'", JSON.stringify(avatar)));
  writeFileSync(resolve(app, 'index.html'), '<!doctype html>\n<meta charset="utf-8">\n<title>React app</title>\n<div id="root"></div>\n<script type="module" src="./main.tsx"></script>\n');
  execFileSync(
    process.execPath,
    [resolve(ROOT, 'node_modules/typescript/bin/tsc'), '--noEmit', '--strict', '--skipLibCheck', '--jsx', 'react-jsx', '--target', 'es2022', '--module', 'esnext', '--moduleResolution', 'bundler', '--lib', 'es2022,dom,dom.iterable', resolve(app, 'main.tsx')],
    { stdio: 'pipe' },
  );
  const out = mkdtempSync(join(tmpdir(), 'mms-react-app-'));
  await build({
    configFile: false,
    root: app,
    mode: 'development',
    logLevel: 'warn',
    define: { 'process.env.NODE_ENV': JSON.stringify('development') },
    build: { outDir: out, emptyOutDir: true, minify: false },
  });
  return out;
}
