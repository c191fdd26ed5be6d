import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createServer } from 'vite';
import { describe, expect, it } from 'vitest';
import { consumerProject, pack, readmeExample, viteBuild, webpackBuild } from './packedPackage.js';

// The README's Deploying examples, pasted into consumer projects as they stand and run: each
// must put the packaged worker, byte for byte, at the root of the built site.

describe("the Deploying examples of the README and docs/deploying.md", () => {
  const packed = pack();
  const worker = (consumer: string) => readFileSync(join(consumer, 'node_modules/matrix-media-sw/dist/matrix-media-sw.js'));

  for (const [label, configFile] of [
    ['vite', 'vite.config.js'],
    ['vite: by hand', 'vite.config.ts'],
  ] as const) {
    it(`Vite (${label}) emits the worker at the root of the build, and serves it in dev as JavaScript with no-cache`, async () => {
      const consumer = consumerProject(packed, `vite-app-${label.replace(/\W+/g, '-')}`, ['vite']);
      writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'vite-app', private: true, type: 'module' }));
      writeFileSync(join(consumer, configFile), readmeExample(label));
      writeFileSync(join(consumer, 'index.html'), '<!doctype html><script type="module" src="/main.js"></script>');
      writeFileSync(join(consumer, 'main.js'), 'console.log("app");');
      viteBuild(consumer);
      expect(readFileSync(join(consumer, 'dist/matrix-media-sw.js')).equals(worker(consumer))).toBe(true);

      const server = await createServer({ root: consumer, configFile: join(consumer, configFile), logLevel: 'silent', server: { port: 0 } });
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
  }

  for (const [label, dependencies] of [
    ['webpack', ['webpack']],
    ['webpack: copy-webpack-plugin', ['webpack', 'copy-webpack-plugin']],
  ] as const) {
    it(`webpack (${label}) emits the worker at the root of the build, byte for byte (never minified again)`, () => {
      const consumer = consumerProject(packed, `webpack-app-${label.replace(/\W+/g, '-')}`, [...dependencies]);
      writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'webpack-app', private: true }));
      writeFileSync(join(consumer, 'webpack.config.js'), readmeExample(label));
      mkdirSync(join(consumer, 'src'));
      writeFileSync(join(consumer, 'src/index.js'), 'console.log("app");');
      webpackBuild(consumer);
      expect(readFileSync(join(consumer, 'dist/matrix-media-sw.js')).equals(worker(consumer))).toBe(true);
    }, 60_000);
  }

  it('a fileName in a folder: the plugins emit it there and print what the app must register with', () => {
    const consumer = consumerProject(packed, 'vite-app-folder', ['vite']);
    writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'vite-app', private: true, type: 'module' }));
    writeFileSync(
      join(consumer, 'vite.config.js'),
      "import { matrixMediaSw } from 'matrix-media-sw/vite';\nexport default { base: '/app/', plugins: [matrixMediaSw({ fileName: 'assets/media-sw.js' })] };\n",
    );
    writeFileSync(join(consumer, 'index.html'), '<!doctype html><script type="module" src="/main.js"></script>');
    writeFileSync(join(consumer, 'main.js'), 'console.log("app");');
    const printed = viteBuild(consumer, []);
    expect(readFileSync(join(consumer, 'dist/assets/media-sw.js')).equals(worker(consumer))).toBe(true);
    expect(printed).toContain("scriptUrl: '/app/assets/media-sw.js', scope: '/app/'");
    expect(printed).toContain('Service-Worker-Allowed: /app/');
  }, 60_000);

  it('a fileName that is not a plain relative .js path is refused, saying what is wrong', () => {
    const consumer = consumerProject(packed, 'webpack-app-bad-name', ['webpack']);
    for (const fileName of ['../sw.js', '/sw.js', 'sw.ts', 'a//b.js', '']) {
      const run = () =>
        execFileSync(process.execPath, ['-e', `const { MatrixMediaSwPlugin } = require('matrix-media-sw/webpack'); new MatrixMediaSwPlugin({ fileName: ${JSON.stringify(fileName)} });`], {
          cwd: consumer,
          stdio: 'pipe',
        });
      expect(run, fileName).toThrow(/"fileName" must be a relative path of plain names ending in \.js/);
    }
  });
});
