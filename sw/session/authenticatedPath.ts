import { networkRetryDelay } from '../upstream/retryPolicy.js';

/**
 * May media of this homeserver go with the token, or only without it? And what does a request
 * that got no response at all mean?
 *
 * `fetch` rejects with a `TypeError` for every failure without a response: a CORS refusal
 * (Dendrite 0.13 answers the preflight of `/_matrix/client/v1/media/*` with 401 and no CORS
 * headers), a reset connection, a network switch, a server that is down. None of these can be
 * told apart from one error, so nothing lasting is decided from one:
 *
 * - A homeserver that has answered a request carrying the token (any status: a response at all
 *   means its CORS layer let the token through) is *proven*. A `TypeError` there is a network
 *   fault: the request is sent again after a short pause, within a bound, and never switched.
 * - A homeserver not yet proven sends one request ahead (the scout); its other media requests
 *   wait for that one's outcome instead of each paying a failed preflight of its own.
 * - It is judged *blocked* (its media then goes to the legacy endpoint without a token, what the
 *   element would have loaded without a worker) only when a second authenticated request, a
 *   deliberate probe of `/_matrix/client/v1/media/config`, also fails without a response while an
 *   unauthenticated `/_matrix/client/versions` to the same homeserver answers right after it.
 *   A network fault takes both down; a CORS refusal takes only the first.
 * - A blocked verdict lasts `BLOCKED_LIFETIME_MS`, then the homeserver is judged again.
 */

/** How long a blocked homeserver's media goes without the token before it is judged again. */
export const BLOCKED_LIFETIME_MS = 5 * 60 * 1000;
/** How long the probe's two requests may each take; no answer in time is no verdict. */
export const PROBE_TIMEOUT_MS = 10_000;

/** What a request that failed without a response is taken for. */
export type NoResponseVerdict = 'blocked' | 'network-fault';

export interface PathOptions {
  fetch?: typeof fetch;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

interface Scout {
  /** Settles when the scout's first attempt has an outcome (a response, a verdict, another error). */
  done: Promise<void>;
  release(): void;
}

export class AuthenticatedPath {
  private readonly proven = new Set<string>();
  private readonly blockedUntil = new Map<string, number>();
  private readonly scouts = new Map<string, Scout>();
  private readonly probes = new Map<string, Promise<NoResponseVerdict>>();
  private readonly fetchFn: typeof fetch;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(options: PathOptions = {}) {
    this.fetchFn = options.fetch ?? ((input, init) => fetch(input, init));
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  /** True once `base` has answered a request that carried a token (for diagnostics and tests). */
  isProven(base: string): boolean {
    return this.proven.has(base);
  }

  /** True while `base` is judged to refuse the token at the CORS layer. */
  isBlocked(base: string): boolean {
    const until = this.blockedUntil.get(base);
    if (until === undefined) return false;
    if (until > this.now()) return true;
    this.blockedUntil.delete(base);
    return false;
  }

  /**
   * Sends a media request to `base`: `withToken()` (a GET or HEAD, so sending it again is safe),
   * or `withoutToken()` where the homeserver is judged blocked. A request that gets no response on
   * a homeserver that is not blocked is sent again after `networkRetryDelay`, with the same URL and
   * token; when those are spent, the element gets the error, as it would without a worker.
   */
  async send(base: string, token: string, withToken: () => Promise<Response>, withoutToken: () => Promise<Response>): Promise<Response> {
    let scout = await this.waitForScout(base);
    try {
      for (let attempt = 0; ; attempt++) {
        if (this.isBlocked(base)) return await withoutToken();
        try {
          const response = await withToken();
          this.proven.add(base);
          return response;
        } catch (error) {
          if (!(error instanceof TypeError)) throw error;
          const verdict = this.proven.has(base) ? 'network-fault' : await this.judge(base, token);
          // Whatever the verdict, the requests waiting on this scout can now decide for themselves.
          scout?.release();
          scout = undefined;
          if (verdict === 'blocked') return await withoutToken();
          const delay = networkRetryDelay(attempt);
          if (delay === undefined) throw error;
          await this.sleep(delay);
        }
      }
    } finally {
      scout?.release();
    }
  }

  /**
   * While `base` is neither proven nor blocked, the first request goes ahead as the scout (its
   * `Scout` is returned, to release once it knows something) and the others wait for it.
   */
  private async waitForScout(base: string): Promise<Scout | undefined> {
    if (this.proven.has(base) || this.isBlocked(base)) return undefined;
    const ahead = this.scouts.get(base);
    if (ahead) {
      // After the scout, go in parallel whatever it found: a second scout would serialise a
      // gallery behind one request at a time whenever the network is down or slow.
      await ahead.done;
      return undefined;
    }
    let release!: () => void;
    const done = new Promise<void>((resolve) => (release = resolve));
    const scout: Scout = {
      done,
      release: () => {
        if (this.scouts.get(base) === scout) this.scouts.delete(base);
        release();
      },
    };
    this.scouts.set(base, scout);
    return scout;
  }

  /** One probe per homeserver at a time, however many requests failed meanwhile. */
  private judge(base: string, token: string): Promise<NoResponseVerdict> {
    let pending = this.probes.get(base);
    if (!pending) {
      pending = this.probe(base, token).finally(() => this.probes.delete(base));
      this.probes.set(base, pending);
    }
    return pending;
  }

  private async probe(base: string, token: string): Promise<NoResponseVerdict> {
    const ask = (path: string, headers: Record<string, string>) =>
      this.fetchFn(`${base}${path}`, { headers, mode: 'cors', credentials: 'omit', cache: 'no-store', signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
    try {
      const answer = await ask('/_matrix/client/v1/media/config', { Authorization: `Bearer ${token}` });
      void answer.body?.cancel().catch(() => undefined);
      // The token got through: whatever failed before was the network.
      this.proven.add(base);
      return 'network-fault';
    } catch (error) {
      if (!(error instanceof TypeError)) return 'network-fault';
    }
    try {
      const answer = await ask('/_matrix/client/versions', {});
      void answer.body?.cancel().catch(() => undefined);
    } catch {
      // Nothing answers at all: the server or the network is down, which says nothing of CORS.
      return 'network-fault';
    }
    this.blockedUntil.set(base, this.now() + BLOCKED_LIFETIME_MS);
    return 'blocked';
  }
}
