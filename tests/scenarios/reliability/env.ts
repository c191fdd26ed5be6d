import assert from 'node:assert/strict';
import type { Homeserver } from '../../../demo/homeserver/server.js';
import type { Capability, Engine, PageDriver } from '../driver.js';
import type { ScenarioEnv } from '../takeover.js';

/**
 * What the reliability scenarios share: besides the homeserver, an "attacker" server on another
 * origin, and a record of the faults each scenario injects. After each scenario the runner
 * audits every request any server received (tests/reliability/leaks.ts) and writes the
 * scenario's figures for the report, in every engine.
 */

export interface Faults {
  /** Call once per fault the scenario injects (a stopped worker, a 429, a hung server…). */
  inject(what: string): void;
  readonly injected: readonly string[];
}

export interface ReliabilityEnv extends ScenarioEnv {
  attacker: Homeserver;
  faults: Faults;
}

export interface ReliabilityScenario {
  title: string;
  /** Capabilities the scenario cannot run without; where the engine lacks one, it is skipped, saying why. */
  needs?: Capability[];
  /** Why this engine cannot run the scenario for another reason, or undefined where it can. */
  skip?(engine: Engine): string | undefined;
  /** Milliseconds the scenario may take, where more than the usual. */
  timeoutMs?: number;
  run(env: ReliabilityEnv): Promise<void>;
}

export interface ReliabilityGroup {
  title: string;
  scenarios: ReliabilityScenario[];
}

/** Why `scenario` cannot run with `driver`, or undefined where it can. */
export function skipReason(scenario: ReliabilityScenario, driver: PageDriver): string | undefined {
  for (const need of scenario.needs ?? []) if (driver[need] === undefined) return driver.missing[need] ?? `needs ${need}`;
  return scenario.skip?.(driver.engine);
}

/** Registers the page with the homeserver and token; fails with the page's error otherwise. */
export async function register(d: PageDriver, options: Record<string, unknown>): Promise<{ sessionId: string; index: number }> {
  const result = await d.run<{ ok: boolean; sessionId: string; index: number }>('return window.register(args);', options);
  assert.equal(result.ok, true, JSON.stringify(result));
  return result;
}

export const loadImage = (d: PageDriver, url: string) => d.run<{ ok: boolean; width: number; height: number }>('return window.loadImage(args);', url);

export const loadAll = (d: PageDriver, urls: string[]) =>
  d.run<Array<{ ok: boolean }>>('return Promise.all(args.map((u) => window.loadImage(u)));', urls);

export const legacy = (hs: Homeserver, mxc: string, endpoint = 'download') => `${hs.url}/_matrix/media/v3/${endpoint}/${mxc.slice(6)}`;

/** Media GETs the homeserver received since log entry `from`. */
export function mediaGets(homeserver: Homeserver, from = 0) {
  return homeserver.log.slice(from).filter((r) => r.method === 'GET' && /\/_matrix\/(media|client\/v1\/media)\//.test(r.path));
}

/** Turns on the worker's per-request reports for this page; read them with `reports`. */
export function recordReports(d: PageDriver): Promise<void> {
  return d.run('window.reports = []; await window.handles[0].onDiagnostic((entry) => window.reports.push(entry));');
}

export function reports(d: PageDriver): Promise<Array<{ url: string; upstreamUrl: string | null; outcome: string; status: number }>> {
  return d.run('return window.reports;');
}

/** The page's answer at once: a page blocked by a hung request would not give it. */
export const responsive = (d: PageDriver) => d.run<number>('return 6 * 7;');
