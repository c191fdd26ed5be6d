import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build, type Metafile } from 'esbuild';

/**
 * What each entry weighs once a client bundles it: esbuild `--minify`, with code splitting, so
 * that a dynamic import becomes a chunk of its own, loaded when first used. Sizes are gzipped
 * (level 9), per file, as a browser fetches them.
 */

const ROOT = resolve(import.meta.dirname, '..');

export interface EntrySize {
  /** What a client imports, as it would write it. */
  entry: string;
  /** Gzipped bytes of the entry's chunk and every chunk it imports statically: loaded with it. */
  loadedBytes: number;
  /** Gzipped bytes of what it imports dynamically, and of what only that imports: loaded when first used. */
  lazyBytes: number;
  /** The source files in the part loaded with it, relative to the repository. */
  loadedInputs: string[];
  lazyInputs: string[];
}

const gzipped = (bytes: Uint8Array) => gzipSync(bytes, { level: 9 }).length;
const relative = (input: string) => input.replace(/^(\.\.\/)+/, '').replace(`${ROOT.slice(1)}/`, '');

/**
 * Bundles `code` (an ES module importing from the repository) as a client would, and weighs it;
 * or, given `{ file }`, that file itself as the entry (the worker, whose import alone the
 * package's `sideEffects` would let a bundler drop).
 */
export async function entrySize(entry: string, code: string | { file: string }): Promise<EntrySize> {
  const folder = mkdtempSync(join(tmpdir(), 'mms-size-'));
  try {
    const source = typeof code === 'string' ? join(folder, 'entry.js') : code.file;
    if (typeof code === 'string') writeFileSync(source, code);
    const result = await build({ entryPoints: [source], bundle: true, minify: true, splitting: true, format: 'esm', outdir: join(folder, 'out'), metafile: true, logLevel: 'silent', absWorkingDir: ROOT });
    const outputs = result.metafile.outputs;
    const entryOut = Object.keys(outputs).find((name) => outputs[name]!.entryPoint !== undefined && name.endsWith('.js'))!;
    const loaded = new Set<string>();
    const visit = (name: string) => {
      if (loaded.has(name)) return;
      loaded.add(name);
      for (const imported of outputs[name]!.imports) if (imported.kind === 'import-statement') visit(imported.path);
    };
    visit(entryOut);
    const js = Object.keys(outputs).filter((name) => name.endsWith('.js'));
    const weigh = (names: string[]) => names.reduce((total, name) => total + gzipped(readFileSync(resolve(ROOT, name))), 0);
    const inputs = (names: string[]) => [...new Set(names.flatMap((name) => Object.keys((outputs[name] as Metafile['outputs'][string]).inputs)))].map(relative).filter((input) => !input.endsWith('/entry.js')).sort();
    const lazy = js.filter((name) => !loaded.has(name));
    return { entry, loadedBytes: weigh([...loaded]), lazyBytes: weigh(lazy), loadedInputs: inputs([...loaded]), lazyInputs: inputs(lazy) };
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

/** The page module's main entry, the Workbox route and the standalone worker, as a client meets them. */
export async function entrySizes(): Promise<EntrySize[]> {
  return [
    await entrySize("import { registerMediaWorker } from 'matrix-media-sw'", `import { registerMediaWorker } from '${ROOT}/src/index.ts';\nglobalThis.register = registerMediaWorker;\n`),
    await entrySize("import { installMatrixMedia } from 'matrix-media-sw/workbox'", `import { installMatrixMedia } from '${ROOT}/sw/workbox.ts';\nglobalThis.install = installMatrixMedia;\n`),
    await entrySize('matrix-media-sw.js (the standalone worker)', { file: resolve(ROOT, 'sw/index.ts') }),
  ];
}

export function renderSizes(sizes: EntrySize[]): string {
  const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;
  const lines = ['| entry | loaded with it (min + gzip) | loaded later: on first use (blob mode, a failed registration), or while the worker registers (the file-id hash) | |', '| --- | --- | --- | --- |'];
  for (const size of sizes) {
    const lazy = size.lazyInputs.filter((input) => !size.loadedInputs.includes(input));
    lines.push(`| \`${size.entry}\` | ${kb(size.loadedBytes)} | ${size.lazyBytes > 0 ? kb(size.lazyBytes) : '—'} | ${lazy.length > 0 ? `lazy: ${lazy.map((input) => input.replace(/^node_modules\//, '').replace(/^src\//, '')).join(', ')}` : ''} |`);
  }
  return lines.join('\n');
}

if (process.argv[1] === import.meta.filename) console.log(renderSizes(await entrySizes()));
