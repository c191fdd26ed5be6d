import type { Plugin } from 'vite';
import { checkFileName, registrationHint, rootOf, workerScript, type MatrixMediaSwPluginOptions } from './workerScript.cjs';

export type { MatrixMediaSwPluginOptions };

/**
 * Puts the media worker into a Vite app: served at `/matrix-media-sw.js` (under `base`) by
 * `vite` dev, as JavaScript with `Cache-Control: no-cache`, and emitted at the root of the
 * output of `vite build`, whatever `publicDir` is. Always the worker of the installed package.
 *
 *     import { matrixMediaSw } from 'matrix-media-sw/vite';
 *     export default defineConfig({ plugins: [matrixMediaSw()] });
 */
export function matrixMediaSw(options?: MatrixMediaSwPluginOptions): Plugin {
  const fileName = checkFileName(options);
  let servedAt = `/${fileName}`;
  let ssr = false;
  return {
    name: 'matrix-media-sw',
    configResolved(config) {
      // A relative or absent base ('./', '') serves from the root in dev.
      const base = config.base.startsWith('/') ? config.base : '/';
      servedAt = `${rootOf(base)}${fileName}`;
      ssr = Boolean(config.build.ssr);
      const hint = registrationHint(base, fileName);
      if (hint) config.logger.info(hint);
    },
    configureServer(server) {
      server.middlewares.use((request, response, next) => {
        if ((request.url ?? '').split('?')[0] !== servedAt) return next();
        response.setHeader('Content-Type', 'text/javascript');
        response.setHeader('Cache-Control', 'no-cache');
        response.end(workerScript());
      });
    },
    generateBundle() {
      // A server-side build ships no browser files.
      if (ssr) return;
      this.emitFile({ type: 'asset', fileName, source: workerScript() });
    },
  };
}
