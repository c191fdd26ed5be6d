import { completion } from './idb.js';

/**
 * How much room the store really has. The browser's quota does not say: Chromium's
 * `estimate()` reports 1 GiB or more whatever the disk holds (a profile on a 64 MiB disk with
 * 38 MiB of room reported 1 GiB). So the room is found by writing, and the store gives way to
 * the app, whose data (a client's crypto store, its sync state) cannot be downloaded again:
 *
 * - The first write that fails for lack of room lowers the store's limit to half of what it
 *   held then, and its least recently used files go until it holds no more. The other half is
 *   room the store found and leaves to the app: as much again as the store keeps, for the
 *   app's next writes, which on a full disk would otherwise fail.
 * - The limit grows again only by writes that succeed: once `GROW_AFTER_MS` have passed since
 *   the last failure, the store may write past it, and each write that succeeds raises it to
 *   what the store then holds. A write that fails lowers it again.
 * - What was found is kept in the store's 'meta' object store, so a restarted worker does not
 *   fill the disk again to find it.
 */

/** The default limit's cap, whatever the quota. */
const DEFAULT_LIMIT_CAP = 1 << 30;

/** The quota the browser reports (in a worker too); undefined where it will not say. */
export async function estimatedQuota(): Promise<number | undefined> {
  try {
    return (await navigator.storage?.estimate())?.quota;
  } catch {
    return undefined;
  }
}

/** How long after the disk said full the store keeps to the room it found, before trying for more. */
export const GROW_AFTER_MS = 10 * 60_000;

const META_KEY = 'room';

/**
 * Whether `error` says there was no room for a write: QuotaExceededError (Firefox, and Chromium
 * at its quota), AbortError (Chromium near its quota aborts the transaction), UnknownError (an
 * IndexedDB backend that could not write its files to a full disk).
 */
export function isRoomError(error: unknown): boolean {
  return error instanceof DOMException && ['QuotaExceededError', 'AbortError', 'UnknownError'].includes(error.name);
}

/** The room found: the store's limit by it, and when a write last failed for lack of room. */
interface Found {
  limitBytes: number;
  failedAt: number;
}

function isFound(value: unknown): value is Found {
  const found = value as Found;
  return typeof value === 'object' && value !== null && Number.isSafeInteger(found.limitBytes) && found.limitBytes >= 0 && Number.isFinite(found.failedAt);
}

export class StoreRoom {
  private found: Found | undefined;
  // The browser is asked for its quota once, not once per chunk.
  private quotaLimit: Promise<number> | undefined;

  constructor(
    private readonly quota: () => Promise<number | undefined>,
    private readonly now: () => number,
    private readonly growAfterMs = GROW_AFTER_MS,
  ) {}

  /**
   * The default limit: the smallest of 1 GiB, a tenth of the quota the browser reports, and the
   * room `found` (or the room `enforced` now: none while the store may try for more).
   */
  async defaultBytes(room: 'found' | 'enforced'): Promise<number> {
    this.quotaLimit ??= this.quota().then((quota) => (quota ? Math.min(DEFAULT_LIMIT_CAP, Math.floor(quota / 10)) : DEFAULT_LIMIT_CAP));
    return Math.min(await this.quotaLimit, room === 'found' ? this.limitBytes : this.enforcedBytes);
  }

  /** Takes what an earlier worker found, among the 'meta' entries read at start. */
  load(keys: readonly IDBValidKey[], values: readonly unknown[]): void {
    const value = values[keys.indexOf(META_KEY)];
    if (isFound(value)) this.found = value;
  }

  /** The most the store holds by the room it found: Infinity until a write failed for lack of room. */
  get limitBytes(): number {
    return this.found?.limitBytes ?? Infinity;
  }

  /** The limit eviction keeps to: the room found, or none while the store may try for more. */
  get enforcedBytes(): number {
    return this.found && this.now() - this.found.failedAt < this.growAfterMs ? this.found.limitBytes : Infinity;
  }

  /** A write failed for lack of room while the store held `heldBytes`: the limit becomes half of that. */
  full(heldBytes: number): void {
    this.found = { limitBytes: Math.floor(heldBytes / 2), failedAt: this.now() };
  }

  /** Writes down what was found, once the store has made room for it (if even this fails, it is found again). */
  async save(db: IDBDatabase | undefined): Promise<void> {
    if (!db || !this.found) return;
    try {
      const tx = db.transaction('meta', 'readwrite');
      tx.objectStore('meta').put(this.found, META_KEY);
      await completion(tx);
    } catch {
      // A restarted worker finds the room again, by its first failing write.
    }
  }

  /**
   * A write succeeded and the store now holds `heldBytes()` (counted only where it matters: it
   * walks the index, after every write): past the limit while the store may
   * try for more, the limit rises to it (a session's own `storeBytes` may pass it at any time). Not written down: a restarted worker keeps the
   * lower limit only until it may grow, and then grows the same way.
   */
  wrote(heldBytes: () => number): void {
    if (!this.found || this.enforcedBytes !== Infinity) return;
    const held = heldBytes();
    if (held > this.found.limitBytes) this.found = { ...this.found, limitBytes: held };
  }
}
