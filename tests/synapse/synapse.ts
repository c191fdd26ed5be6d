import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { freePort } from '../freePort.js';
import { registerWithSharedSecret, startedOnceMore, stopProcess } from '../realHomeserver.js';

/**
 * A real Synapse for the tests: installed from PyPI into a git-ignored virtual environment, run
 * on loopback with SQLite and a minimal config. A migrated database is kept as a template, so
 * only the very first start pays for the schema migration.
 */

export const SYNAPSE_VERSION = '1.163.2';
const ROOT = resolve(import.meta.dirname, '../..');
const HOME = join(ROOT, '.synapse');
const VENV = join(HOME, 'venv');
const PYTHON = join(VENV, 'bin/python');
const TEMPLATE = join(HOME, `template-${SYNAPSE_VERSION}`);
const SHARED_SECRET = 'matrix-media-sw-test-only-secret';
/** Access tokens issued with a refresh token live this long: long enough to load, short enough to wait out. */
export const REFRESHABLE_TOKEN_LIFETIME_MS = 6000;

function run(command: string, args: string[], what: string): string {
  const result = spawnSync(command, args, { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${what} failed (exit ${result.status}):\n${result.stdout}\n${result.stderr}`);
  return result.stdout;
}

function installedVersion(): string | undefined {
  if (!existsSync(PYTHON)) return undefined;
  const result = spawnSync(PYTHON, ['-c', 'import importlib.metadata as m; print(m.version("matrix-synapse"))'], { encoding: 'utf8' });
  return result.status === 0 ? result.stdout.trim() : undefined;
}

/** Installs the pinned Synapse into .synapse/venv where it is missing or another version. */
export function ensureSynapseInstalled(log: (line: string) => void = console.log): void {
  if (installedVersion() === SYNAPSE_VERSION) return;
  const python = ['python3.13', 'python3.12', 'python3.11', 'python3.10', 'python3'].find(
    (candidate) => spawnSync(candidate, ['-c', 'import sys; assert sys.version_info >= (3, 10)']).status === 0,
  );
  if (!python) throw new Error('Synapse needs Python 3.10 or later: install python3 (apt-get install -y python3 python3-venv).');
  log(`Installing Synapse ${SYNAPSE_VERSION} from PyPI into .synapse/venv (once; about a minute)…`);
  rmSync(VENV, { recursive: true, force: true });
  mkdirSync(HOME, { recursive: true });
  run(python, ['-m', 'venv', VENV], 'creating the virtual environment (on Debian: apt-get install -y python3-venv)');
  run(join(VENV, 'bin/pip'), ['install', '--quiet', '--disable-pip-version-check', `matrix-synapse==${SYNAPSE_VERSION}`], 'pip install matrix-synapse');
}

function config(dir: string, port: number): string {
  // Keys checked against Synapse's config documentation; report_stats must be present.
  return `server_name: "localhost"
report_stats: false
pid_file: "${dir}/homeserver.pid"
listeners:
  - port: ${port}
    type: http
    tls: false
    bind_addresses: ["127.0.0.1"]
    x_forwarded: false
    resources:
      - names: [client]
        compress: false
database:
  name: sqlite3
  args:
    database: "${dir}/homeserver.db"
media_store_path: "${dir}/media_store"
signing_key_path: "${dir}/localhost.signing.key"
registration_shared_secret: "${SHARED_SECRET}"
trusted_key_servers: []
suppress_key_server_warning: true
enable_authenticated_media: true
dynamic_thumbnails: true
url_preview_enabled: false
refreshable_access_token_lifetime: ${REFRESHABLE_TOKEN_LIFETIME_MS / 1000}s
rc_login:
  address: { per_second: 1000, burst_count: 1000 }
  account: { per_second: 1000, burst_count: 1000 }
  failed_attempts: { per_second: 1000, burst_count: 1000 }
rc_registration: { per_second: 1000, burst_count: 1000 }
rc_message: { per_second: 1000, burst_count: 1000 }
rc_media_create: { per_second: 1000, burst_count: 1000 }
`;
}


async function waitForHealth(url: string, process: ChildProcess, logFile: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (process.exitCode !== null) throw new Error(`Synapse exited with ${process.exitCode}; its log:\n${readFileSync(logFile, 'utf8').slice(-4000)}`);
    try {
      if ((await fetch(`${url}/health`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`Synapse did not become healthy within ${timeoutMs / 1000} s; its log:\n${readFileSync(logFile, 'utf8').slice(-4000)}`);
}

export interface Synapse {
  url: string;
  /** Synapse's own log: its request lines name the user each request authenticated as. */
  readLog(): string;
  /** Creates a user through the shared-secret admin API (not rate-limited) and returns its access token. */
  register(username: string, password: string): Promise<string>;
  /** The same, for a server admin (who may quarantine media). */
  registerAdmin(username: string, password: string): Promise<string>;
  stop(): Promise<void>;
}

async function launch(dir: string, port: number): Promise<{ process: ChildProcess; logFile: string }> {
  const logFile = join(dir, 'synapse.log');
  const out = openSync(logFile, 'a');
  const child = spawn(PYTHON, ['-m', 'synapse.app.homeserver', '-c', join(dir, 'homeserver.yaml')], {
    cwd: dir,
    stdio: ['ignore', out, out],
  });
  return { process: child, logFile };
}

/** Migrates a database once and keeps it, with its signing key, as the template for every run. */
async function ensureTemplate(): Promise<void> {
  if (existsSync(join(TEMPLATE, 'homeserver.db'))) return;
  const dir = `${TEMPLATE}.partial`;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  writeFileSync(join(dir, 'homeserver.yaml'), config(dir, port));
  run(PYTHON, ['-m', 'synapse.app.homeserver', '-c', join(dir, 'homeserver.yaml'), '--generate-keys'], 'generating the signing key');
  const { process: child, logFile } = await launch(dir, port);
  try {
    // The first start applies the whole schema: about a minute on two cores.
    await waitForHealth(`http://127.0.0.1:${port}`, child, logFile, 300_000);
  } finally {
    await stopProcess(child);
  }
  rmSync(TEMPLATE, { recursive: true, force: true });
  mkdirSync(TEMPLATE, { recursive: true });
  for (const file of ['homeserver.db', 'localhost.signing.key']) cpSync(join(dir, file), join(TEMPLATE, file));
  rmSync(dir, { recursive: true, force: true });
}

/** Installs Synapse and migrates the template database where either is missing. */
export async function prepareSynapse(): Promise<void> {
  ensureSynapseInstalled();
  await ensureTemplate();
}

/** Starts a fresh Synapse from the template on a free loopback port. */
export async function startSynapse(): Promise<Synapse> {
  await prepareSynapse();
  mkdirSync(join(HOME, 'runs'), { recursive: true });
  const dir = mkdtempSync(join(HOME, 'runs', 'run-'));
  for (const file of ['homeserver.db', 'localhost.signing.key']) cpSync(join(TEMPLATE, file), join(dir, file));
  const start = async () => {
    const port = await freePort();
    writeFileSync(join(dir, 'homeserver.yaml'), config(dir, port));
    const { process: child, logFile } = await launch(dir, port);
    const url = `http://127.0.0.1:${port}`;
    try {
      await waitForHealth(url, child, logFile, 120_000);
    } catch (error) {
      await stopProcess(child);
      throw error;
    }
    return { child, logFile, url };
  };
  const { child, logFile, url } = await startedOnceMore('Synapse', start);
  // Whatever happens to the test run, Synapse does not outlive it.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  return {
    url,
    readLog: () => readFileSync(logFile, 'utf8'),
    register: (username, password) => registerWithSharedSecret(url, SHARED_SECRET, username, password, 'Synapse'),
    registerAdmin: (username, password) => registerWithSharedSecret(url, SHARED_SECRET, username, password, 'Synapse', true),
    async stop() {
      process.off('exit', killOnExit);
      await stopProcess(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
