import { resolve } from 'node:path';
import { defineConfig, type UserConfig } from 'vite';

/**
 * One config, three jobs, chosen by `--mode`:
 * - `page`: the page-side ES module, dist/index.js (no worker code in it);
 * - `workbox`: dist/workbox.js, the route for apps with their own Workbox worker;
 * - `worker`: the standalone worker, dist/matrix-media-sw.js, a minified classic script (IIFE),
 *   because Firefox before 147 and older Safari cannot run module workers;
 * - `test` (set by vitest): the unit tests; `webkit`: the WebKit reliability run;
 * - anything else (`vite`, `vite build`): the demo page under demo/.
 */
const root = import.meta.dirname;

function pageBuild(): UserConfig {
  return {
    build: {
      outDir: 'dist',
      emptyOutDir: true,
      sourcemap: true,
      minify: false,
      lib: { entry: resolve(root, 'src/index.ts'), formats: ['es'], fileName: () => 'index.js' },
    },
  };
}

function workerBuild(): UserConfig {
  return {
    // Workbox wraps its development asserts in process.env.NODE_ENV checks; library mode does not
    // replace that on its own.
    define: { 'process.env.NODE_ENV': JSON.stringify('production') },
    build: {
      outDir: 'dist',
      emptyOutDir: false,
      sourcemap: true,
      minify: true,
      lib: { entry: resolve(root, 'sw/index.ts'), formats: ['iife'], name: 'matrixMediaSw', fileName: () => 'matrix-media-sw.js' },
    },
  };
}

function workboxBuild(): UserConfig {
  return {
    build: {
      outDir: 'dist',
      emptyOutDir: false,
      sourcemap: true,
      minify: false,
      lib: { entry: resolve(root, 'sw/workbox.ts'), formats: ['es'], fileName: () => 'workbox.js' },
      // The app's own copies: one workbox-routing, or registerRoute's instanceof check fails.
      rollupOptions: { external: [/^workbox-/, 'idb-keyval'] },
    },
  };
}

function demoBuild(): UserConfig {
  return {
    root: resolve(root, 'demo'),
    publicDir: resolve(root, 'dist'),
    server: { host: 'localhost', strictPort: true },
    build: { outDir: resolve(root, 'dist-demo'), emptyOutDir: true },
  };
}

function unitTests(): UserConfig {
  return {
    test: {
      include: ['tests/unit/**/*.test.ts'],
      environment: 'node',
      setupFiles: ['tests/unit/setup.ts'],
    },
  } as UserConfig;
}

/** The WebKit run of the reliability suite: WebDriver sessions, one at a time. */
function webkitTests(): UserConfig {
  return {
    test: {
      include: ['tests/webkit/**/*.test.ts'],
      environment: 'node',
      testTimeout: 90_000,
      hookTimeout: 60_000,
      fileParallelism: false,
    },
  } as UserConfig;
}

export default defineConfig(({ mode }) => {
  if (mode === 'test') return unitTests();
  if (mode === 'webkit') return webkitTests();
  if (mode === 'page') return pageBuild();
  if (mode === 'worker') return workerBuild();
  if (mode === 'workbox') return workboxBuild();
  return demoBuild();
});
