import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createServer } from 'vite';
import { describe, expect, it } from 'vitest';
import { consumerProject, pack, readmeExample } from './packedPackage.js';

// The README's Deploying examples, pasted into consumer projects as they stand and run: each
// must put the packaged worker, byte for byte, at the root of the built site.

describe("the README's Deploying examples", () => {
  const packed = pack();
  const worker = (consumer: string) => readFileSync(join(consumer, 'node_modules/matrix-media-sw/dist/matrix-media-sw.js'));

  it('Vite with publicDir: false emits the worker at the root of the build, and serves it in dev', async () => {
    const consumer = consumerProject(packed, 'vite-app', ['vite']);
    writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'vite-app', private: true, type: 'module' }));
    writeFileSync(join(consumer, 'vite.config.ts'), readmeExample('vite'));
    writeFileSync(join(consumer, 'index.html'), '<!doctype html><script type="module" src="/main.js"></script>');
    writeFileSync(join(consumer, 'main.js'), 'console.log("app");');
    execFileSync(process.execPath, [join(consumer, 'node_modules/vite/bin/vite.js'), 'build', '--logLevel', 'error'], { cwd: consumer });
    expect(readFileSync(join(consumer, 'dist/matrix-media-sw.js')).equals(worker(consumer))).toBe(true);

    const server = await createServer({ root: consumer, configFile: join(consumer, 'vite.config.ts'), logLevel: 'silent', server: { port: 0 } });
    await server.listen();
    try {
      const response = await fetch(`${server.resolvedUrls!.local[0]}matrix-media-sw.js`);
      expect(response.headers.get('content-type')).toBe('text/javascript');
      expect(response.headers.get('cache-control')).toBe('no-cache');
      expect(Buffer.from(await response.arrayBuffer()).equals(worker(consumer))).toBe(true);
    } finally {
      await server.close();
    }
  }, 60_000);

  it('webpack with copy-webpack-plugin emits the worker at the root of the build', () => {
    const consumer = consumerProject(packed, 'webpack-app', ['webpack', 'copy-webpack-plugin']);
    writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'webpack-app', private: true }));
    writeFileSync(join(consumer, 'webpack.config.js'), readmeExample('webpack'));
    mkdirSync(join(consumer, 'src'));
    writeFileSync(join(consumer, 'src/index.js'), 'console.log("app");');
    // What `npx webpack` does in the project, without webpack-cli.
    execFileSync(
      process.execPath,
      ['-e', `require('webpack')({ mode: 'production', ...require('./webpack.config.js') }, (error, stats) => { if (error || stats.hasErrors()) { console.error(error || stats.toString()); process.exit(1); } });`],
      { cwd: consumer },
    );
    expect(readFileSync(join(consumer, 'dist/matrix-media-sw.js')).equals(worker(consumer))).toBe(true);
  }, 60_000);
});
