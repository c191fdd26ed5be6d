/**
 * When to try a homeserver request again: a pure function of what came back, so the rules can
 * be read and tested in one place. Everything not listed goes back to the element unchanged.
 */

/** The longest a rate limit may ask the worker to wait; longer, and the element gets the 429. */
export const MAX_RATE_LIMIT_WAIT_MS = 10_000;
/** At most this many rate-limited retries per request. */
export const MAX_RATE_LIMIT_RETRIES = 3;
/** The spec's default for `timeout_ms`, the wait for media that is not yet uploaded. */
export const DEFAULT_UPLOAD_WAIT_MS = 20_000;
const NOT_YET_UPLOADED_PAUSE_MS = 500;

export interface Outcome {
  status: number;
  errcode: string | undefined;
  /** `retry_after_ms` from the error body, if any. */
  retryAfterMs: number | undefined;
}

export interface RetryState {
  rateLimitedRetries: number;
  /** Milliseconds since the first try. */
  elapsedMs: number;
  /** The request's `timeout_ms`, or the spec's default. */
  uploadWaitMs: number;
}

/** Milliseconds to wait before trying again, or undefined to give the element this answer. */
export function retryDelay(outcome: Outcome, state: RetryState): number | undefined {
  if (outcome.status === 429 && outcome.errcode === 'M_LIMIT_EXCEEDED') {
    if (state.rateLimitedRetries >= MAX_RATE_LIMIT_RETRIES) return undefined;
    const wait = outcome.retryAfterMs ?? 1000;
    return wait >= 0 && wait <= MAX_RATE_LIMIT_WAIT_MS ? wait : undefined;
  }
  if (outcome.status === 504 && outcome.errcode === 'M_NOT_YET_UPLOADED') {
    // The server gave up before the client's timeout_ms did (servers cap the wait): ask again
    // while the client's own deadline allows.
    const left = state.uploadWaitMs - state.elapsedMs;
    return left > NOT_YET_UPLOADED_PAUSE_MS ? NOT_YET_UPLOADED_PAUSE_MS : undefined;
  }
  return undefined;
}

/** The `timeout_ms` a media URL asks for, or the spec's default; clamped to a sane range. */
export function uploadWaitOf(search: string): number {
  const value = Number(new URLSearchParams(search).get('timeout_ms'));
  return Number.isFinite(value) && value > 0 ? Math.min(value, 120_000) : DEFAULT_UPLOAD_WAIT_MS;
}

/**
 * Pauses before sending again a request that got no response at all (a reset connection, a
 * network switch) from a homeserver that is not judged to refuse the token: short, because a
 * blip is short, and bounded, so that a server that is down gives the element its error within
 * a few seconds, as it would without a worker. Browsers already retry a reset once by themselves.
 */
export const NETWORK_RETRY_DELAYS_MS = [250, 1000, 2500] as const;

/** Milliseconds to wait before attempt `failed + 1`, or undefined when the retries are spent. */
export function networkRetryDelay(failed: number): number | undefined {
  return NETWORK_RETRY_DELAYS_MS[failed];
}
