import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'vite';

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
