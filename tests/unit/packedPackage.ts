import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync } from 'node:fs';
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

/** A consumer project in `packed.dir/name` with the package installed and `dependencies` linked from this repo. */
export function consumerProject(packed: Packed, name: string, dependencies: string[]): string {
  const consumer = join(packed.dir, name);
  const modules = join(consumer, 'node_modules');
  mkdirSync(join(modules, 'matrix-media-sw'), { recursive: true });
  execFileSync('tar', ['-xzf', join(packed.dir, packed.filename), '-C', join(modules, 'matrix-media-sw'), '--strip-components=1']);
  for (const dep of dependencies) symlinkSync(join(ROOT, 'node_modules', dep), join(modules, dep));
  return consumer;
}

/** The README's code block right after the `<!-- tested: … (label) -->` marker naming `label`. */
export function readmeExample(label: string): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const marker = readme.indexOf(`(${label}) -->`);
  if (marker < 0) throw new Error(`README has no example marked (${label})`);
  const match = /```[a-z]*\n([\s\S]*?)```/.exec(readme.slice(marker));
  if (!match) throw new Error(`no code block after the (${label}) marker`);
  return match[1]!;
}
