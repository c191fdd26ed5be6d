import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/**
 * The package as a user gets it: `npm pack` of the built tree (npm test builds first), unpacked
 * into a consumer project's node_modules beside the dependencies its package manager would add.
 */

export const ROOT = resolve(import.meta.dirname, '../..');

export interface Packed {
  dir: string;
  filename: string;
  files: Array<{ path: string }>;
}

export function pack(): Packed {
  const dir = mkdtempSync(join(tmpdir(), 'mms-pack-'));
  const output = execFileSync('npm', ['pack', '--json', '--pack-destination', dir], { cwd: ROOT, encoding: 'utf8' });
  const [{ filename, files }] = JSON.parse(output) as Array<{ filename: string; files: Array<{ path: string }> }>;
  return { dir, filename: filename!, files: files! };
}

/**
 * A consumer project in `packed.dir/name` with the package installed and `dependencies` linked
 * from this repo; `as` names a dependency under another name (`{ vite: 'vite6' }`: Vite 6 as vite).
 */
export function consumerProject(packed: Packed, name: string, dependencies: string[], as: Record<string, string> = {}): string {
  const consumer = join(packed.dir, name);
  const modules = join(consumer, 'node_modules');
  mkdirSync(join(modules, 'matrix-media-sw'), { recursive: true });
  execFileSync('tar', ['-xzf', join(packed.dir, packed.filename), '-C', join(modules, 'matrix-media-sw'), '--strip-components=1']);
  for (const dep of dependencies) symlinkSync(join(ROOT, 'node_modules', as[dep] ?? dep), join(modules, dep));
  return consumer;
}

/** `vite build` in `consumer` with the Vite it has, as its package script would run it; what Vite printed. */
export function viteBuild(consumer: string, args: string[] = ['--logLevel', 'error']): string {
  return execFileSync(process.execPath, [join(consumer, 'node_modules/vite/bin/vite.js'), 'build', ...args], { cwd: consumer, encoding: 'utf8' });
}

/** What `npx webpack` does in `consumer` (production mode, its webpack.config.js), without webpack-cli. */
export function webpackBuild(consumer: string): void {
  execFileSync(
    process.execPath,
    ['-e', `require('webpack')({ mode: 'production', ...require('./webpack.config.js') }, (error, stats) => { if (error || stats.hasErrors()) { console.error(error || stats.toString()); process.exit(1); } });`],
    { cwd: consumer },
  );
}

/** The code block right after the `<!-- tested: … (label) -->` marker naming `label`, in the README or a page of docs/. */
export function readmeExample(label: string): string {
  const pages = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
  const found = pages.flatMap((page) => {
    const text = readFileSync(join(ROOT, page), 'utf8');
    const marker = text.indexOf(`(${label}) -->`);
    return marker < 0 ? [] : [{ page, after: text.slice(marker) }];
  });
  if (found.length !== 1) throw new Error(`the example marked (${label}) must stand in exactly one page; found in: ${found.map((f) => f.page).join(', ') || 'none'}`);
  const match = /```[a-z]*\n([\s\S]*?)```/.exec(found[0]!.after);
  if (!match) throw new Error(`no code block after the (${label}) marker in ${found[0]!.page}`);
  return match[1]!;
}
