/**
 * How to forward: a fresh CORS request for the homeserver, never a copy of the page's request.
 *
 * An `<img>` or `<video>` makes a no-cors request; `new Request(thatRequest, { headers })` keeps
 * mode no-cors, and a no-cors request silently loses `Authorization` and `Range`.
 */

import { networkRetryDelay } from './retryPolicy.js';

// `Range` only in the single-range form media elements send: it is CORS-safelisted, so it needs
// no room in the server's Access-Control-Allow-Headers (Synapse lists neither Range nor If-*).
const SIMPLE_RANGE = /^bytes=\d+-\d*$/;
const COPIED_HEADERS = ['If-None-Match', 'If-Modified-Since'];

// Accept only while CORS-safelisted (Fetch: at most 128 bytes, no unsafe bytes). A navigation's
// Accept is longer; sent anyway it needs a place in Access-Control-Allow-Headers that no
// homeserver gives it, and the fetch fails after the preflight.
function isSafelistedAccept(value: string): boolean {
  return value.length <= 128 && !/[\x00-\x08\x0a-\x1f"():<>?@[\\\]{}\x7f]/.test(value);
}

/** The upstream request for `url`, carrying the page request's validators and range, and the token if given. */
export function buildUpstreamRequest(url: string, original: Request, accessToken: string | null, signal?: AbortSignal): Request {
  const headers = new Headers();
  for (const name of COPIED_HEADERS) {
    const value = original.headers.get(name);
    if (value !== null) headers.set(name, value);
  }
  const accept = original.headers.get('Accept');
  if (accept !== null && isSafelistedAccept(accept)) headers.set('Accept', accept);
  const range = original.headers.get('Range');
  const ranged = range !== null && SIMPLE_RANGE.test(range);
  if (ranged) headers.set('Range', range);
  if (accessToken !== null) headers.set('Authorization', `Bearer ${accessToken}`);
  return new Request(url, {
    // HEAD only when the worker asks itself (a recheck of a stored file); an element's request is a GET.
    method: original.method === 'HEAD' ? 'HEAD' : 'GET',
    headers,
    mode: 'cors',
    credentials: 'omit',
    // On a cross-origin hop the Fetch standard removes Authorization (whatwg/fetch#1544).
    redirect: 'follow',
    // A ranged read is a media element streaming. When the server ignores Range, the worker
    // cancels each full download once its slice is sent; Chromium's HTTP cache then hands the
    // next seek a truncated shared entry and the element fails with a data source error.
    cache: ranged ? 'no-store' : 'default',
    signal,
  });
}

/**
 * Sends again, after `networkRetryDelay`, a request that got no response at all (a reset, a
 * dropped kept-alive connection): a media GET or HEAD is idempotent, and a media element that
 * meets an error before its metadata gives up for good (Chromium). When the retries are spent
 * the element gets the error, as it would have without a worker.
 */
export async function resendOnNoResponse(send: () => Promise<Response>, sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))): Promise<Response> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await send();
    } catch (error) {
      const delay = error instanceof TypeError ? networkRetryDelay(attempt) : undefined;
      if (delay === undefined) throw error;
      await sleep(delay);
    }
  }
}

/** How long the homeserver may take to send response headers before the element gets an error. */
export const RESPONSE_HEADERS_TIMEOUT_MS = 30_000;

/**
 * Fetches `request`, failing with a TimeoutError if no response headers arrive in time, so a hung
 * homeserver cannot leave an element waiting for ever. The body, once it flows, is not limited.
 */
export async function fetchWithTimeout(
  fetchFn: typeof fetch,
  url: string,
  original: Request,
  accessToken: string | null,
  timeoutMs = RESPONSE_HEADERS_TIMEOUT_MS,
): Promise<Response> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new DOMException('The homeserver did not answer in time.', 'TimeoutError')), timeoutMs);
  try {
    return await fetchFn(buildUpstreamRequest(url, original, accessToken, controller.signal));
  } finally {
    clearTimeout(timer);
  }
}
