import { isStandIn } from '../upstream/standIn.js';
import { keepRuleOf, type KeepRule } from './freshness.js';

/**
 * Does the homeserver still serve a stored file to this session? Asked once the file's
 * freshness has run out. An mxc's bytes never change (a second upload to a media ID answers 409
 * M_CANNOT_OVERWRITE_MEDIA), so nothing is downloaded again: only the status matters.
 *
 * `HEAD` first: Synapse answers it with GET's status and headers and no body, and a yes (200)
 * settles it. Anything else is asked again with a `GET` whose body is cancelled once read or no
 * longer needed: Dendrite 0.13 answers `HEAD` with 405, and only a body carries the Matrix error
 * that the worker's fallbacks read (M_UNKNOWN_TOKEN to refresh the token, M_UNRECOGNIZED for a
 * server without the authenticated endpoints), so a 404 to `HEAD` alone never deletes a file.
 * A cancelled `GET` costs what the socket had buffered by then. A 403, 404 or 410 from the legacy
 * endpoint standing in for the authenticated one (sw/upstream/standIn.ts) is no answer: the
 * verdict that sent the recheck there may be wrong. No conditional request:
 * Synapse's CORS headers allow no `If-None-Match`, so it could not pass the preflight.
 */

export type RecheckVerdict =
  /** 200 or 206: serve the stored bytes, fresh again under `rule` (the answer's own headers). */
  | { verdict: 'served'; rule: KeepRule }
  /** 403, 404 or 410 to a GET: the file is gone for this session (quarantined, deleted, redacted); the server's answer. */
  | { verdict: 'removed'; response: Response }
  /** 401: the session's token is refused; the file may be fine, the element gets the server's answer. */
  | { verdict: 'refused'; response: Response }
  /** No answer worth believing (offline, a timeout, 5xx, anything else): serve what is stored. */
  | { verdict: 'unreachable'; reason: string };

/** How long a recheck may take before the stored bytes are served anyway. */
export const RECHECK_TIMEOUT_MS = 10_000;

/** How the recheck reaches the server: the file's request with this method, token and fallbacks included. */
export type AskServer = (method: 'HEAD' | 'GET') => Promise<Response>;

const REMOVED = new Set([403, 404, 410]);

/**
 * True when the homeserver says the file is gone for this session (403, 404, 410), in its own
 * word: not the legacy endpoint's, standing in for the authenticated one (standIn.ts).
 */
export const saysRemoved = (response: Response): boolean => REMOVED.has(response.status) && !isStandIn(response);

/** Resolves with `promise`, or rejects with a TimeoutError after `ms`; a late response's body is cancelled. */
function within(promise: Promise<Response>, ms: number): Promise<Response> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      void promise.then((response) => response.body?.cancel(), () => undefined);
      reject(new DOMException('The homeserver did not answer the recheck in time.', 'TimeoutError'));
    }, ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

export async function recheck(ask: AskServer, timeoutMs = RECHECK_TIMEOUT_MS): Promise<RecheckVerdict> {
  const deadline = Date.now() + timeoutMs;
  let response: Response;
  try {
    response = await within(ask('HEAD'), timeoutMs);
    if (response.status !== 200 && response.status !== 206 && response.status < 500) {
      void response.body?.cancel();
      response = await within(ask('GET'), Math.max(0, deadline - Date.now()));
    }
  } catch (error) {
    return { verdict: 'unreachable', reason: error instanceof Error ? `${error.name}: ${error.message}` : 'no answer' };
  }
  if (response.status === 200 || response.status === 206) {
    // The status is all that is wanted: not a byte more of a GET's body.
    void response.body?.cancel().catch(() => undefined);
    return { verdict: 'served', rule: keepRuleOf(response.headers) };
  }
  if (saysRemoved(response)) return { verdict: 'removed', response };
  if (REMOVED.has(response.status)) {
    void response.body?.cancel().catch(() => undefined);
    return { verdict: 'unreachable', reason: `the legacy endpoint, standing in for the authenticated one, answered ${response.status}` };
  }
  if (response.status === 401) return { verdict: 'refused', response };
  void response.body?.cancel().catch(() => undefined);
  return { verdict: 'unreachable', reason: `the homeserver answered ${response.status}` };
}
