import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { freePort } from '../freePort.js';
import { goCommand, registerWithSharedSecret, startedOnceMore, stopProcess, uploadMedia } from '../realHomeserver.js';

/**
 * A real Dendrite, the second homeserver implementation the tests run against: built from the
 * Go module proxy with `go install` into a git-ignored folder (.dendrite/bin), run on loopback
 * with SQLite, federation off, registration by shared secret. Go keeps its module and build
 * caches where it always does, so only the first build on a machine takes minutes.
 */

export const DENDRITE_VERSION = '0.13.8';
// Apache-2.0, as published under matrix-org (the element-hq fork is AGPL: not this one).
const MODULE = 'github.com/matrix-org/dendrite';
const COMMANDS = ['dendrite', 'generate-keys', 'generate-config'] as const;
const ROOT = resolve(import.meta.dirname, '../..');
const HOME = join(ROOT, '.dendrite');
const BIN = join(HOME, 'bin');
const STAMP = join(BIN, 'version');
const SHARED_SECRET = 'matrix-media-sw-test-only-secret';

/** Builds the pinned Dendrite's commands into .dendrite/bin where they are missing or of another version. */
export function ensureDendriteBuilt(log: (line: string) => void = console.log): void {
  if (existsSync(STAMP) && readFileSync(STAMP, 'utf8').trim() === DENDRITE_VERSION && COMMANDS.every((c) => existsSync(join(BIN, c)))) return;
  const go = goCommand('Dendrite');
  log(`Building Dendrite ${DENDRITE_VERSION} with ${go} install into .dendrite/bin (once per machine; a few minutes on two cores)…`);
  rmSync(BIN, { recursive: true, force: true });
  mkdirSync(BIN, { recursive: true });
  const packages = COMMANDS.map((command) => `${MODULE}/cmd/${command}@v${DENDRITE_VERSION}`);
  // CGO for SQLite; GOFLAGS cleared so that a developer's own settings cannot change the build.
  const result = spawnSync(go, ['install', ...packages], { encoding: 'utf8', env: { ...process.env, GOBIN: BIN, CGO_ENABLED: '1', GOFLAGS: '' } });
  if (result.status !== 0) throw new Error(`go install of Dendrite ${DENDRITE_VERSION} failed (exit ${result.status}):\n${result.stdout}\n${result.stderr}`);
  writeFileSync(STAMP, `${DENDRITE_VERSION}\n`);
}

function run(command: string, args: string[], what: string, cwd?: string): string {
  const result = spawnSync(command, args, { encoding: 'utf8', cwd });
  if (result.status !== 0) throw new Error(`${what} failed (exit ${result.status}):\n${result.stdout}\n${result.stderr}`);
  return result.stdout;
}

/** The config generate-config writes for CI, with our key, no federation and our shared secret. */
function config(dir: string): string {
  let yaml = run(join(BIN, 'generate-config'), ['-ci', '-dir', dir, '-server', 'localhost'], 'generate-config');
  const set = (pattern: RegExp, value: string, what: string) => {
    if (!pattern.test(yaml)) throw new Error(`Dendrite's generated config has no ${what}: its format changed`);
    yaml = yaml.replace(pattern, value);
  };
  set(/^(\s*)private_key: .*$/m, `$1private_key: ${join(dir, 'matrix_key.pem')}`, 'private_key');
  set(/^(\s*)disable_federation: .*$/m, '$1disable_federation: true', 'disable_federation');
  set(/^(\s*)registration_shared_secret: .*$/m, `$1registration_shared_secret: "${SHARED_SECRET}"`, 'registration_shared_secret');
  set(/^(\s*)registration_disabled: .*$/m, '$1registration_disabled: true', 'registration_disabled');
  return yaml;
}

export interface Dendrite {
  url: string;
  /** Creates a user through the shared-secret registration API and returns its access token. */
  register(username: string, password: string): Promise<string>;
  /** Uploads through the v3 upload endpoint (Dendrite has no v1 upload); returns the mxc URI. */
  upload(token: string, data: Buffer, contentType: string, fileName: string): Promise<string>;
  readLog(): string;
  stop(): Promise<void>;
}

async function launch(): Promise<{ child: ChildProcess; url: string; dir: string; logFile: string }> {
  mkdirSync(join(HOME, 'runs'), { recursive: true });
  const dir = mkdtempSync(join(HOME, 'runs', 'run-'));
  run(join(BIN, 'generate-keys'), ['--private-key', join(dir, 'matrix_key.pem')], 'generate-keys');
  writeFileSync(join(dir, 'dendrite.yaml'), config(dir));
  const port = await freePort();
  const logFile = join(dir, 'dendrite.log');
  const out = openSync(logFile, 'a');
  const child = spawn(join(BIN, 'dendrite'), ['-config', join(dir, 'dendrite.yaml'), '-http-bind-address', `127.0.0.1:${port}`], { cwd: dir, stdio: ['ignore', out, out] });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`Dendrite exited with ${child.exitCode}; its log:\n${readFileSync(logFile, 'utf8').slice(-4000)}`);
    try {
      if ((await fetch(`${url}/_matrix/client/versions`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stopProcess(child);
      throw new Error(`Dendrite did not answer within 60 s; its log:\n${readFileSync(logFile, 'utf8').slice(-4000)}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return { child, url, dir, logFile };
}

/** Starts a fresh Dendrite (its own folder, database and key) on a free loopback port; a start that fails is tried once more. */
export async function startDendrite(): Promise<Dendrite> {
  ensureDendriteBuilt();
  const { child, url, dir, logFile } = await startedOnceMore('Dendrite', launch);
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  return {
    url,
    readLog: () => readFileSync(logFile, 'utf8'),
    register: (username, password) => registerWithSharedSecret(url, SHARED_SECRET, username, password, 'Dendrite'),
    upload: (token, data, contentType, fileName) => uploadMedia(url, token, data, contentType, fileName, 'Dendrite'),
    async stop() {
      process.off('exit', killOnExit);
      await stopProcess(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** One real Dendrite per test worker, as a Playwright worker fixture. */
export const dendriteFixture: [(args: object, use: (dendrite: Dendrite) => Promise<void>) => Promise<void>, { scope: 'worker'; timeout: number }] = [
  async ({}, use) => {
    const dendrite = await startDendrite();
    await use(dendrite);
    await dendrite.stop();
  },
  // The first run on a machine builds Dendrite (go install).
  { scope: 'worker', timeout: 600_000 },
];
