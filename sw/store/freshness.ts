/**
 * Whether the server lets a file be kept, and for how long a kept file may be served without
 * asking the server again: RFC 9111 read as a private cache (the store belongs to one session).
 *
 * - `no-store`, or `Vary: *`: nothing of the file is kept (§5.2.2.5; §4.1: such a response never
 *   matches a later request, so keeping it would serve nobody).
 * - Otherwise a kept file is fresh for `max-age` (less the response's `Age`), else until
 *   `Expires` (against the server's `Date`), else for DEFAULT_FRESH_MS; `no-cache` makes it
 *   stale at once, so that every use asks the server first.
 * - `s-maxage` and `proxy-revalidate` speak to shared caches (§5.2.2.10, §5.2.2.8) and are not
 *   ours: Synapse sends `public,max-age=86400,s-maxage=0,proxy-revalidate`, which means a day
 *   for a browser, and a day for this store.
 * - Freshness that cannot be read (a malformed `max-age`, two different ones, an invalid
 *   `Expires`) counts as stale (§4.2.1): the file is kept, and asked about at each use.
 * - From a homeserver on another origin, CORS hides `Vary`, `Age` and `Date` unless the server
 *   exposes them: here they are then absent, as RFC 9111 reads a response without them (Age 0,
 *   the time of arrival for Date). A hidden `Vary: *` cannot be honoured; `no-store`, in the
 *   always-readable Cache-Control, is how a server keeps a file out of the store.
 */

/** How long a kept file is fresh when the server says nothing about it: what the README documents. */
export const DEFAULT_FRESH_MS = 24 * 60 * 60 * 1000;

export interface KeepRule {
  /** False when nothing of the file may be written to disk. */
  store: boolean;
  /** How long from the response the file is fresh, in milliseconds (0: stale at once). */
  freshMs: number;
  /** `must-revalidate`: once stale, never served without the server's yes, not even offline. */
  mustRevalidate: boolean;
}

/** The directives of a Cache-Control value, names in lower case; a name given twice keeps every value. */
export function parseCacheControl(value: string): Map<string, Array<string | undefined>> {
  const directives = new Map<string, Array<string | undefined>>();
  // Directives are comma separated; a quoted value may hold a comma of its own.
  for (const match of value.matchAll(/\s*([^=,\s]+)\s*(?:=\s*("(?:[^"\\]|\\.)*"|[^,]*))?\s*(?:,|$)/g)) {
    const name = match[1]!.toLowerCase();
    let argument = match[2]?.trim();
    if (argument?.startsWith('"')) argument = argument.slice(1, -1).replace(/\\(.)/g, '$1');
    directives.set(name, [...(directives.get(name) ?? []), argument]);
  }
  return directives;
}

/** Whole seconds (`1*DIGIT`), as RFC 9111 writes delta-seconds; undefined for anything else. */
function deltaSeconds(value: string | undefined): number | undefined {
  return value !== undefined && /^\d+$/.test(value) ? Number(value) : undefined;
}

/** The one value of a directive given (possibly several times) as `values`; null where they disagree or are malformed. */
function singleSeconds(values: Array<string | undefined>): number | null {
  const parsed = new Set(values.map(deltaSeconds));
  if (parsed.size !== 1) return null;
  const [only] = parsed;
  return only === undefined ? null : only;
}

/** What `headers` (a 200 or 206 of the file) allow the store to do with the file. */
export function keepRuleOf(headers: Headers): KeepRule {
  const directives = parseCacheControl(headers.get('Cache-Control') ?? '');
  const mustRevalidate = directives.has('must-revalidate');
  if (directives.has('no-store') || (headers.get('Vary') ?? '').split(',').some((name) => name.trim() === '*')) {
    return { store: false, freshMs: 0, mustRevalidate };
  }
  if (directives.has('no-cache')) return { store: true, freshMs: 0, mustRevalidate };
  const age = deltaSeconds(headers.get('Age')?.trim()) ?? 0;
  const maxAge = directives.get('max-age');
  if (maxAge) {
    const seconds = singleSeconds(maxAge);
    return { store: true, freshMs: seconds === null ? 0 : Math.max(0, seconds - age) * 1000, mustRevalidate };
  }
  const expires = headers.get('Expires');
  if (expires !== null) {
    const until = Date.parse(expires);
    const date = Date.parse(headers.get('Date') ?? '');
    const now = Number.isNaN(date) ? Date.now() : date;
    return { store: true, freshMs: Number.isNaN(until) ? 0 : Math.max(0, until - now - age * 1000), mustRevalidate };
  }
  return { store: true, freshMs: Math.max(0, DEFAULT_FRESH_MS - age * 1000), mustRevalidate };
}

/** When a kept file was last heard of from the server, and for how long that answer holds. */
export interface Freshness {
  /** When the server last served or confirmed the file (ms since the epoch); absent in records of earlier versions. */
  checkedAt?: number;
  freshMs?: number;
  mustRevalidate?: boolean;
}

/** The freshness a response under `rule` gives its file, counted from now. */
export function checkedNow(rule: KeepRule): Required<Freshness> {
  return { checkedAt: Date.now(), freshMs: rule.freshMs, mustRevalidate: rule.mustRevalidate };
}

/**
 * Whether a kept file may be served without asking: within the server's freshness and the
 * session's `storeMaxAgeMs`, both counted from the last time the server served or confirmed it.
 * A record without a check time (kept by an earlier version), or a clock that went back, is stale.
 */
export function isFresh(file: Freshness, now: number, maxAgeMs = Infinity): boolean {
  if (file.checkedAt === undefined || file.freshMs === undefined || now < file.checkedAt) return false;
  return now - file.checkedAt < Math.min(file.freshMs, maxAgeMs);
}
