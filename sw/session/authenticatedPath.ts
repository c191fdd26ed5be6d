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
 *   element would have loaded without a worker) only when the failed request, sent once more
 *   after a short pause (a blip often ends within it), fails again without a response while an
 *   unauthenticated `/_matrix/client/versions` to the same homeserver answers right after it.
 *   A network fault takes both down; a CORS refusal takes only the authenticated one. The probe
 *   is the media request itself, not another endpoint: Dendrite 0.13 answers the preflight of
 *   `/_matrix/client/v1/media/config` with CORS headers and refuses only downloads' and
 *   thumbnails'.
 * - A blocked verdict lasts `BLOCKED_LIFETIME_MS`, then the homeserver is judged again; sooner
 *   when the legacy endpoint answers a client error (Synapse freezes it: 404), since a verdict
 *   that does not serve the element is not worth keeping.
 */

/** How long a blocked homeserver's media goes without the token before it is judged again. */
export const BLOCKED_LIFETIME_MS = 5 * 60 * 1000;
/** How long the probe's `/versions` may take; no answer in time is no verdict. */
export const PROBE_TIMEOUT_MS = 10_000;

/** What a probe found: the request answered (its response), a CORS refusal, or a network fault. */
type Verdict = { verdict: 'answered'; response: Response } | { verdict: 'blocked' } | { verdict: 'network-fault' } | { verdict: 'failed'; error: unknown };

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
  private readonly probes = new Map<string, Promise<Verdict>>();
  private readonly fetchFn: typeof fetch;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(options: PathOptions = {}) {
    this.fetchFn = options.fetch ?? ((input, init) => fetch(input, init));
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
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
  async send(base: string, withToken: () => Promise<Response>, withoutToken: () => Promise<Response>): Promise<Response> {
    let scout = await this.waitForScout(base);
    try {
      for (let attempt = 0; ; attempt++) {
        if (this.isBlocked(base)) return await this.legacy(base, withoutToken);
        try {
          const response = await withToken();
          this.proven.add(base);
          return response;
        } catch (error) {
          if (!(error instanceof TypeError)) throw error;
          const judged = this.proven.has(base) ? undefined : await this.judge(base, withToken);
          // Whatever the verdict, the requests waiting on this scout can now decide for themselves.
          scout?.release();
          scout = undefined;
          if (judged?.verdict === 'answered') return judged.response;
          if (judged?.verdict === 'failed') throw judged.error;
          if (judged?.verdict === 'blocked') return await this.legacy(base, withoutToken);
          const delay = networkRetryDelay(attempt);
          if (delay === undefined) throw error;
          await this.sleep(delay);
        }
      }
    } finally {
      scout?.release();
    }
  }

  private async legacy(base: string, withoutToken: () => Promise<Response>): Promise<Response> {
    const response = await withoutToken();
    if (response.status >= 400 && response.status < 500 && response.status !== 429) this.blockedUntil.delete(base);
    return response;
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

  /**
   * One probe per homeserver at a time, however many requests failed meanwhile: the request that
   * failed first is sent again; the others get its verdict ('answered' is theirs to retry).
   */
  private async judge(base: string, again: () => Promise<Response>): Promise<Verdict> {
    const running = this.probes.get(base);
    if (running) {
      const verdict = await running;
      return verdict.verdict === 'blocked' ? verdict : { verdict: 'network-fault' };
    }
    const probe = this.probe(base, again).finally(() => this.probes.delete(base));
    this.probes.set(base, probe);
    return probe;
  }

  private async probe(base: string, again: () => Promise<Response>): Promise<Verdict> {
    await this.sleep(networkRetryDelay(0) ?? 0);
    try {
      const response = await again();
      // The token got through: whatever failed before was the network.
      this.proven.add(base);
      return { verdict: 'answered', response };
    } catch (error) {
      if (!(error instanceof TypeError)) return { verdict: 'failed', error };
    }
    try {
      // Never from the HTTP cache: a cached answer would make an offline homeserver look reachable.
      const answer = await this.fetchFn(`${base}/_matrix/client/versions`, {
        mode: 'cors',
        credentials: 'omit',
        cache: 'no-store',
        signal: AbortSignal.timeout(PROBE_TIMEOUT_MS),
      });
      void answer.body?.cancel().catch(() => undefined);
    } catch {
      // Nothing answers at all: the server or the network is down, which says nothing of CORS.
      return { verdict: 'network-fault' };
    }
    this.blockedUntil.set(base, this.now() + BLOCKED_LIFETIME_MS);
    return { verdict: 'blocked' };
  }
}
