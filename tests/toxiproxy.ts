import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { freePort } from './freePort.js';
import { goCommand, startedOnceMore, stopProcess } from './realHomeserver.js';

/**
 * Toxiproxy (Shopify, MIT), a TCP proxy that injects network faults on demand: built from the Go
 * module proxy with `go install` into a git-ignored folder (.toxiproxy/bin), as Dendrite is, run
 * on loopback and driven over its HTTP API with plain fetch (five endpoints: a client library
 * would add a dependency for less code than this file).
 */

export const TOXIPROXY_VERSION = '2.12.0';
const MODULE = `github.com/Shopify/toxiproxy/v2/cmd/server@v${TOXIPROXY_VERSION}`;
const ROOT = resolve(import.meta.dirname, '..');
const BIN = join(ROOT, '.toxiproxy', 'bin');
const SERVER = join(BIN, 'server');
const STAMP = join(BIN, 'version');

/** Builds the pinned Toxiproxy server into .toxiproxy/bin where it is missing or of another version. */
export function ensureToxiproxyBuilt(log: (line: string) => void = console.log): void {
  if (existsSync(STAMP) && readFileSync(STAMP, 'utf8').trim() === TOXIPROXY_VERSION && existsSync(SERVER)) return;
  const go = goCommand('Toxiproxy');
  log(`Building Toxiproxy ${TOXIPROXY_VERSION} with ${go} install into .toxiproxy/bin (once per machine; about 15 s)…`);
  rmSync(BIN, { recursive: true, force: true });
  mkdirSync(BIN, { recursive: true });
  const result = spawnSync(go, ['install', MODULE], { encoding: 'utf8', env: { ...process.env, GOBIN: BIN, GOFLAGS: '' } });
  if (result.status !== 0) throw new Error(`go install of Toxiproxy ${TOXIPROXY_VERSION} failed (exit ${result.status}):\n${result.stdout}\n${result.stderr}`);
  writeFileSync(STAMP, `${TOXIPROXY_VERSION}\n`);
}

export type ToxicType = 'latency' | 'bandwidth' | 'timeout' | 'reset_peer' | 'slow_close' | 'slicer' | 'limit_data';

export interface Toxic {
  type: ToxicType;
  /** Which way the toxic acts: `downstream` is server → browser. */
  stream?: 'downstream' | 'upstream';
  toxicity?: number;
  attributes: Record<string, number>;
}

/** One proxied link: the browser connects to `url`, Toxiproxy forwards to the upstream port. */
export interface ToxicLink {
  url: string;
  /** Adds a toxic; resolves with its name, for `remove`. */
  add(toxic: Toxic): Promise<string>;
  remove(name: string): Promise<void>;
  /** Offline (`false`: every connection cut and new ones refused) and online again. */
  setEnabled(enabled: boolean): Promise<void>;
  close(): Promise<void>;
}

export interface Toxiproxy {
  /** A link on a free loopback port in front of `upstream` (`http://127.0.0.1:PORT`). */
  link(upstream: string): Promise<ToxicLink>;
  stop(): Promise<void>;
}

let links = 0;

async function launch(): Promise<{ child: ChildProcess; api: string }> {
  const port = await freePort();
  mkdirSync(join(ROOT, '.toxiproxy'), { recursive: true });
  const logFile = join(ROOT, '.toxiproxy', `server-${port}.log`);
  const out = openSync(logFile, 'w');
  const child = spawn(SERVER, ['-host', '127.0.0.1', '-port', String(port)], { stdio: ['ignore', out, out] });
  const api = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`Toxiproxy exited with ${child.exitCode}; its log:\n${readFileSync(logFile, 'utf8').slice(-2000)}`);
    try {
      if ((await fetch(`${api}/version`)).ok) return { child, api };
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stopProcess(child);
      throw new Error(`Toxiproxy did not answer within 15 s; its log:\n${readFileSync(logFile, 'utf8').slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Starts Toxiproxy on a free loopback port; a start that fails is tried once more, saying so. */
export async function startToxiproxy(): Promise<Toxiproxy> {
  ensureToxiproxyBuilt();
  const { child, api } = await startedOnceMore('Toxiproxy', launch);
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const call = async (method: string, path: string, body?: unknown): Promise<unknown> => {
    const response = await fetch(`${api}${path}`, {
      method,
      headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`Toxiproxy ${method} ${path} answered ${response.status}: ${text}`);
    return text ? JSON.parse(text) : undefined;
  };
  return {
    async link(upstream) {
      const name = `link${++links}`;
      const port = await freePort();
      await call('POST', '/proxies', { name, listen: `127.0.0.1:${port}`, upstream: new URL(upstream).host, enabled: true });
      let toxics = 0;
      return {
        url: `http://127.0.0.1:${port}`,
        async add(toxic) {
          const toxicName = `${toxic.type}${++toxics}`;
          await call('POST', `/proxies/${name}/toxics`, { name: toxicName, stream: 'downstream', toxicity: 1, ...toxic });
          return toxicName;
        },
        remove: async (toxicName) => void (await call('DELETE', `/proxies/${name}/toxics/${toxicName}`)),
        setEnabled: async (enabled) => void (await call('POST', `/proxies/${name}`, { enabled })),
        close: async () => void (await call('DELETE', `/proxies/${name}`)),
      };
    },
    async stop() {
      process.off('exit', killOnExit);
      await stopProcess(child);
    },
  };
}
