import type { Compiler } from 'webpack';
import { checkFileName, registrationHint, workerScript, type MatrixMediaSwPluginOptions } from './workerScript.cjs';

export type { MatrixMediaSwPluginOptions };

const NAME = 'MatrixMediaSwPlugin';

/**
 * Puts the media worker into a webpack 5 build: emitted as an asset at the root of the output
 * (`matrix-media-sw.js`), marked minimized so that no minimizer rewrites it. Always the worker of
 * the installed package.
 *
 *     const { MatrixMediaSwPlugin } = require('matrix-media-sw/webpack');
 *     module.exports = { plugins: [new MatrixMediaSwPlugin()] };
 */
export class MatrixMediaSwPlugin {
  private readonly fileName: string;

  constructor(options?: MatrixMediaSwPluginOptions) {
    this.fileName = checkFileName(options);
  }

  apply(compiler: Compiler): void {
    const { Compilation, sources } = compiler.webpack;
    compiler.hooks.thisCompilation.tap(NAME, (compilation) => {
      compilation.hooks.processAssets.tap({ name: NAME, stage: Compilation.PROCESS_ASSETS_STAGE_ADDITIONAL }, () => {
        compilation.emitAsset(this.fileName, new sources.RawSource(workerScript()), { minimized: true });
      });
    });
    const publicPath = compiler.options.output.publicPath;
    const hint = registrationHint(typeof publicPath === 'string' && publicPath.startsWith('/') ? publicPath : '/', this.fileName);
    if (hint) compiler.hooks.afterEmit.tap(NAME, () => compiler.getInfrastructureLogger(NAME).info(hint));
  }
}
