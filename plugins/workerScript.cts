import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The worker script the build plugins ship, and where it goes: the file of the installed
 * package (so that the served worker always matches it), under a file name the app may choose.
 */

/** Where an app gets the worker unless told otherwise: the default `scriptUrl` of `registerMediaWorker`. */
export const DEFAULT_FILE_NAME = 'matrix-media-sw.js';

/** The worker of this very package: dist/matrix-media-sw.js, beside dist/plugins/. */
export function workerScript(): Buffer {
  return readFileSync(join(__dirname, '..', 'matrix-media-sw.js'));
}

export interface MatrixMediaSwPluginOptions {
  /**
   * Where the worker is served, relative to the site's root (Vite: to `base`; webpack: to
   * `output.path`); default `matrix-media-sw.js`. A file in a folder (`assets/media-sw.js`)
   * needs `scriptUrl`, `scope` and a `Service-Worker-Allowed` header: the build prints them.
   */
  fileName?: string;
}

/** The checked file name, or an error saying what is wrong with it. */
export function checkFileName(options: MatrixMediaSwPluginOptions | undefined): string {
  const fileName = options?.fileName ?? DEFAULT_FILE_NAME;
  const segments = typeof fileName === 'string' ? fileName.split('/') : [];
  const ok = segments.length > 0 && segments.every((s) => /^[A-Za-z0-9_][A-Za-z0-9._-]*$/.test(s)) && /\.m?js$/.test(fileName);
  if (!ok) {
    throw new TypeError(
      `matrix-media-sw: "fileName" must be a relative path of plain names ending in .js, such as "matrix-media-sw.js" or "assets/media-sw.js"; got ${JSON.stringify(fileName)}.`,
    );
  }
  return fileName;
}

/** The folder a site is served from (`base`, `publicPath`), ending in a slash. */
export const rootOf = (base: string): string => (base.endsWith('/') ? base : `${base}/`);

/**
 * What the app must do for a worker served at `base` + `fileName`, or undefined when
 * `registerMediaWorker`'s defaults already fit (the worker at the site root).
 */
export function registrationHint(base: string, fileName: string): string | undefined {
  const root = rootOf(base);
  const scriptUrl = `${root}${fileName}`;
  if (scriptUrl === `/${DEFAULT_FILE_NAME}`) return undefined;
  const inFolder = fileName.includes('/');
  return [
    `matrix-media-sw: the worker is served at ${scriptUrl}. Register it with`,
    `  registerMediaWorker({ homeserverUrl, accessToken, scriptUrl: '${scriptUrl}'${inFolder ? `, scope: '${root}'` : ''} })`,
    ...(inFolder ? [`and have your server send "Service-Worker-Allowed: ${root}" with ${scriptUrl}: a worker may not control pages above its own folder without it.`] : []),
  ].join('\n');
}
