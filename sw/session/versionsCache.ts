/**
 * Does this homeserver serve authenticated media? Answered from `GET /_matrix/client/versions`,
 * fetched without a token, once per homeserver however many media requests wait on it.
 */

const SUCCESS_LIFETIME_MS = 60 * 60 * 1000;
/** How long `/versions` may take, body included; a lookup that runs out is forgotten like a failure. */
export const VERSIONS_TIMEOUT_MS = 10_000;

/** True when a `/versions` body advertises Matrix 1.11 or later, or MSC3916's stable flag (Dendrite sends only the flag). */
export function advertisesAuthenticatedMedia(body: unknown): boolean {
  if (typeof body !== 'object' || body === null) return false;
  const { versions, unstable_features: features } = body as { versions?: unknown; unstable_features?: unknown };
  if (
    typeof features === 'object' &&
    features !== null &&
    (features as Record<string, unknown>)['org.matrix.msc3916.stable'] === true
  ) {
    return true;
  }
  if (!Array.isArray(versions)) return false;
  return versions.some((version) => {
    const match = typeof version === 'string' ? /^v(\d+)\.(\d+)$/.exec(version) : null;
    if (!match) return false;
    const major = Number(match[1]);
    return major > 1 || (major === 1 && Number(match[2]) >= 11);
  });
}

export class VersionsCache {
  private readonly known = new Map<string, { supported: boolean; until: number }>();
  private readonly inFlight = new Map<string, Promise<boolean | undefined>>();

  constructor(
    private readonly fetchFn: typeof fetch = (input, init) => fetch(input, init),
    private readonly now: () => number = Date.now,
  ) {}

  /** True when an answer for `base` is cached and fresh (for diagnostics). */
  isCached(base: string): boolean {
    const cached = this.known.get(base);
    return cached !== undefined && cached.until > this.now();
  }

  /**
   * Whether the homeserver at `base` supports authenticated media; undefined when `/versions`
   * could not be read. A failure is never remembered: the next request asks again.
   */
  supportsAuthenticatedMedia(base: string): Promise<boolean | undefined> {
    const cached = this.known.get(base);
    if (cached && cached.until > this.now()) return Promise.resolve(cached.supported);
    let pending = this.inFlight.get(base);
    if (!pending) {
      pending = this.load(base).finally(() => this.inFlight.delete(base));
      this.inFlight.set(base, pending);
    }
    return pending;
  }

  private async load(base: string): Promise<boolean | undefined> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    // Raced rather than aborted: WebKitGTK held an image's request 10 s longer behind a /versions
    // fetch given an AbortSignal while another request to the homeserver hung. The bound covers
    // the body too: a server may send headers and then stall.
    const late = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), VERSIONS_TIMEOUT_MS)));
    const read = (async () => {
      // Past the HTTP cache: behind a hung request for the same URL, Chromium's cache holds the next one back.
      const response = await this.fetchFn(`${base}/_matrix/client/versions`, { mode: 'cors', credentials: 'omit', cache: 'no-store' });
      if (!response.ok) return undefined;
      const supported = advertisesAuthenticatedMedia(await response.json());
      this.known.set(base, { supported, until: this.now() + SUCCESS_LIFETIME_MS });
      return supported;
    })().catch(() => undefined);
    try {
      return await Promise.race([read, late]);
    } finally {
      clearTimeout(timer);
    }
  }
}
