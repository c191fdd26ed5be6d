import type { MediaTarget } from './classifyMediaUrl.js';

/** Which URL upstream: pure functions from a classified request and a homeserver base URL. */

// `access_token` goes in the header instead: Synapse answers 401 when a request has both.
// `allow_remote` and `allow_redirect` exist only on the legacy endpoints (MSC3916 removed them).
const DROPPED_FOR_AUTHENTICATED = ['access_token', 'allow_remote', 'allow_redirect'];

function withoutParams(search: string, names: readonly string[]): string {
  const params = new URLSearchParams(search);
  for (const name of names) params.delete(name);
  const query = params.toString();
  return query ? `?${query}` : '';
}

/**
 * The authenticated URL for `target` on the homeserver at `base`: the unstable MSC3916 path is
 * kept as the page wrote it, everything else goes to `/_matrix/client/v1/media/…`.
 */
export function authenticatedUrl(base: string, target: MediaTarget): string {
  const apiPath = target.api === 'unstable' ? '/_matrix/client/unstable/org.matrix.msc3916/media' : '/_matrix/client/v1/media';
  return `${base}${apiPath}/${target.endpoint}${target.rest}${withoutParams(target.search, DROPPED_FOR_AUTHENTICATED)}`;
}

/**
 * The legacy unauthenticated URL for `target`, for servers older than Matrix 1.11. It never
 * carries a token, so `access_token` is dropped from it too.
 */
export function legacyUrl(base: string, target: MediaTarget): string {
  return `${base}/_matrix/media/v3/${target.endpoint}${target.rest}${withoutParams(target.search, ['access_token'])}`;
}

/** `url` without any `access_token` query parameter: for requests that must carry no token. */
export function withoutAccessToken(url: string): string {
  const parsed = new URL(url);
  if (!parsed.searchParams.has('access_token')) return url;
  parsed.searchParams.delete('access_token');
  return parsed.href;
}

/**
 * The URL a request goes to without a token when the authenticated endpoint cannot be reached
 * (its CORS preflight fails): a legacy URL as the page wrote it, without any token, which is
 * what the browser would have fetched without a worker; for a v1 URL or a `mediaUrl` URL, the
 * legacy URL of the same mxc with the same parameters. Always on the homeserver at `base`.
 */
export function unauthenticatedUrl(base: string, target: MediaTarget, requested: string | undefined): string {
  if (target.api === 'legacy' && requested !== undefined) return withoutAccessToken(requested);
  return legacyUrl(base, target);
}
