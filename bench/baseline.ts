import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/**
 * The worker and page module of another commit, built into a temporary folder, so that the
 * benchmark can run them beside today's in one run (`npm run bench -- --against <git ref>`).
 * The ref's own sources and build config are used, with today's installed packages: what is
 * compared is the add-on's code, not its dependencies' versions.
 */
export interface Baseline {
  ref: string;
  /** The commit the ref named when it was built. */
  commit: string;
  /** The folder holding its index.js and matrix-media-sw.js, served in place of dist/. */
  dist: string;
  remove(): void;
}

export function buildBaseline(root: string, ref: string): Baseline {
  let commit: string;
  try {
    commit = execFileSync('git', ['rev-parse', '--verify', `${ref}^{commit}`], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  } catch {
    throw new Error(`--against ${ref}: not a commit in this repository (try a commit hash, a tag or a branch)`);
  }
  const folder = mkdtempSync(join(tmpdir(), `mms-baseline-${commit.slice(0, 7)}-`));
  const remove = () => rmSync(folder, { recursive: true, force: true });
  try {
    // git archive: the ref's tracked files only, without touching this checkout or its worktrees.
    execFileSync('sh', ['-c', `git archive --format=tar "${commit}" | tar -x -C "${folder}"`], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
    symlinkSync(resolve(root, 'node_modules'), join(folder, 'node_modules'), 'dir');
    const vite = resolve(root, 'node_modules/vite/bin/vite.js');
    for (const mode of ['page', 'worker']) execFileSync(process.execPath, [vite, 'build', '--mode', mode, '--logLevel', 'error'], { cwd: folder, stdio: ['ignore', 'ignore', 'pipe'] });
    const dist = join(folder, 'dist');
    for (const file of ['index.js', 'matrix-media-sw.js']) {
      if (!existsSync(join(dist, file))) throw new Error(`--against ${ref}: its build made no dist/${file}`);
    }
    return { ref, commit, dist, remove };
  } catch (error) {
    remove();
    const detail = error instanceof Error && 'stderr' in error ? String((error as { stderr: unknown }).stderr).slice(-2000) : String(error);
    throw new Error(`--against ${ref}: building ${commit.slice(0, 7)}'s worker and page module failed:\n${detail}`);
  }
}
