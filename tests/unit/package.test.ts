import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { consumerProject, pack, readmeExample, ROOT } from './packedPackage.js';

// The package as a user gets it: it must hold dist/, the types, README and licence only, and its
// types must compile for a consumer, the README's TypeScript examples included.

describe('the npm package', () => {
  const packed = pack();

  it('holds dist/, types, README and licence only', () => {
    const paths = packed.files.map((f) => f.path);
    const outside = paths.filter((p) => !p.startsWith('dist/') && !['README.md', 'LICENSE', 'package.json'].includes(p));
    expect(outside).toEqual([]);
    for (const required of ['dist/index.js', 'dist/index.d.ts', 'dist/matrix-media-sw.js', 'dist/workbox.js', 'dist/types/sw/workbox.d.ts', 'dist/plugins/vite.js', 'dist/plugins/vite.d.ts', 'dist/plugins/webpack.cjs', 'dist/plugins/webpack.d.cts', 'dist/plugins/workerScript.cjs', 'README.md', 'LICENSE']) {
      expect(paths).toContain(required);
    }
    expect(paths.filter((p) => p.endsWith('.map'))).toEqual([]);
  });

  it("compiles a consumer's page code and Workbox worker against the packed types", () => {
    const consumer = consumerProject(packed, 'consumer', ['workbox-routing', 'workbox-core', 'idb-keyval']);
    writeFileSync(
      join(consumer, 'page.ts'),
      `import { registerMediaWorker, MediaSwError, type MediaWorker } from 'matrix-media-sw';
export async function start(token: string): Promise<MediaWorker> {
  const media = await registerMediaWorker({ homeserverUrl: 'https://matrix.example.org', accessToken: token, fallback: 'blob' });
  const src: string = media.mediaUrl('mxc://example.org/abc', { width: 96, height: 96, method: 'crop' });
  const viaLoad: Promise<string> = media.loadMedia('mxc://example.org/abc');
  const save: string = media.mediaUrl('mxc://example.org/abc', { filename: 'a.png', attachment: true });
  void src; void viaLoad; void save;
  // @ts-expect-error: method is "crop" or "scale"
  media.mediaUrl('mxc://example.org/abc', { width: 1, height: 1, method: 'stretch' });
  if (media.mode === 'blob') console.log(media.fallbackReason);
  return media;
}
export const isError = (e: unknown): e is MediaSwError => e instanceof MediaSwError && e.code === 'invalid-mxc';
`,
    );
    writeFileSync(
      join(consumer, 'sw.ts'),
      `/// <reference lib="webworker" />
import { installMatrixMedia } from 'matrix-media-sw/workbox';
import { Router } from 'workbox-routing';
installMatrixMedia();
installMatrixMedia({ router: new Router() });
`,
    );
    writeFileSync(join(consumer, 'readme-page.ts'), readmeExample('migrating: page'));
    writeFileSync(join(consumer, 'readme-sw.ts'), readmeExample('migrating: worker'));
    // Page and worker compile apart, as they must (the DOM and WebWorker libs conflict).
    const compilerOptions = { target: 'ES2022', module: 'ESNext', moduleResolution: 'Bundler', strict: true, noEmit: true, skipLibCheck: false, types: [] };
    writeFileSync(join(consumer, 'tsconfig.page.json'), JSON.stringify({ compilerOptions: { ...compilerOptions, lib: ['ES2022', 'DOM', 'DOM.Iterable'] }, files: ['page.ts', 'readme-page.ts'] }));
    writeFileSync(join(consumer, 'tsconfig.sw.json'), JSON.stringify({ compilerOptions: { ...compilerOptions, lib: ['ES2022', 'WebWorker'] }, files: ['sw.ts', 'readme-sw.ts'] }));
    const tsc = join(ROOT, 'node_modules/typescript/bin/tsc');
    for (const project of ['tsconfig.page.json', 'tsconfig.sw.json']) {
      let output = '';
      try {
        output = execFileSync(process.execPath, [tsc, '-p', join(consumer, project)], { encoding: 'utf8' });
      } catch (error) {
        output = String((error as { stdout?: string }).stdout ?? error);
      }
      expect(output, project).toBe('');
    }
  }, 60_000);
});
