/**
 * Normalises a homeserver base URL to `origin + path prefix`, without a trailing slash, query or
 * fragment: the form both sides compare request URLs against. Returns undefined for anything
 * that cannot be a client's base URL.
 */
export function normalizeHomeserverUrl(input: string): string | undefined {
  if (typeof input !== 'string') return undefined;
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return undefined;
  // Credentials in a base URL would end up in every request the worker builds.
  if (url.username || url.password) return undefined;
  const prefix = url.pathname.replace(/\/+$/, '');
  // A base URL ends before the API; "https://hs/_matrix/client" is a mistake worth refusing.
  if (`${prefix}/`.includes('/_matrix/')) return undefined;
  return url.origin + prefix;
}
