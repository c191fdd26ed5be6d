/**
 * The mxc URI grammar of the Matrix spec (appendix "Server Name"; content repository
 * "Security considerations"), as pure functions shared by the page and the worker.
 */

export interface MxcParts {
  serverName: string;
  mediaId: string;
}

// The spec sets no length limit on media IDs; Synapse makes 24 letters. A cap keeps a hostile
// event from building huge URLs.
const MAX_MEDIA_ID_LENGTH = 255;
// "The complete server name should not exceed 230 characters"; dns-name allows 255.
const MAX_SERVER_NAME_LENGTH = 255;

const MEDIA_ID = /^[A-Za-z0-9_-]+$/;
// No empty labels: rejects "..", a leading or trailing dot (the grammar allows them; Synapse's
// VALID_HOST_REGEX does not, and they only serve traversal tricks).
const DNS_NAME = /^[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*$/;
const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
const IPV6_CHARS = /^[0-9A-Fa-f:.]{2,45}$/;

/** True when `mediaId` is 1–255 characters of `[A-Za-z0-9_-]`, as the spec requires. */
export function isValidMediaId(mediaId: string): boolean {
  return mediaId.length <= MAX_MEDIA_ID_LENGTH && MEDIA_ID.test(mediaId);
}

function isValidPort(port: string): boolean {
  if (!/^\d{1,5}$/.test(port)) return false;
  const value = Number(port);
  return value >= 1 && value <= 65535;
}

function isValidIpv6Literal(inner: string): boolean {
  if (!IPV6_CHARS.test(inner)) return false;
  try {
    // The URL parser implements RFC 4291 text forms, including embedded IPv4; reuse it rather
    // than re-deriving that grammar here.
    new URL(`http://[${inner}]/`);
    return true;
  } catch {
    return false;
  }
}

function isValidHostname(host: string): boolean {
  if (host.startsWith('[')) {
    return host.endsWith(']') && isValidIpv6Literal(host.slice(1, -1));
  }
  const ipv4 = IPV4.exec(host);
  if (ipv4) return ipv4.slice(1).every((part) => Number(part) <= 255);
  return DNS_NAME.test(host);
}

/** True when `serverName` matches the spec's server-name grammar: host, IPv4 or [IPv6], optional port. */
export function isValidServerName(serverName: string): boolean {
  if (serverName.length === 0 || serverName.length > MAX_SERVER_NAME_LENGTH) return false;
  let host = serverName;
  const closingBracket = serverName.lastIndexOf(']');
  const lastColon = serverName.lastIndexOf(':');
  if (lastColon > closingBracket) {
    // A bare IPv6 address without brackets also has colons; it fails the hostname check below.
    if (!isValidPort(serverName.slice(lastColon + 1))) return false;
    host = serverName.slice(0, lastColon);
  }
  return isValidHostname(host);
}

/**
 * Splits an `mxc://server/mediaId` URI, or returns undefined when it breaks the grammar.
 * A `#fragment` is dropped, as matrix-js-sdk does; anything else extra makes the URI invalid.
 */
export function parseMxc(mxc: string): MxcParts | undefined {
  if (typeof mxc !== 'string' || !mxc.startsWith('mxc://')) return undefined;
  const withoutFragment = mxc.slice('mxc://'.length).split('#', 1)[0] ?? '';
  const slash = withoutFragment.indexOf('/');
  if (slash < 0) return undefined;
  const serverName = withoutFragment.slice(0, slash);
  const mediaId = withoutFragment.slice(slash + 1);
  if (!isValidServerName(serverName) || !isValidMediaId(mediaId)) return undefined;
  return { serverName, mediaId };
}
