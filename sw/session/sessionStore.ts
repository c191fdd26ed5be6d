import { createStore, del, entries, get, set, type UseStore } from 'idb-keyval';
import type { SessionInit } from '../../src/protocol.js';

/** The SHA-256 of a session key, hex: what the worker keeps of it. */
export async function hashKey(key: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(key)));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** A record as versions before keyHash stored it, with the key itself. */
type LegacyRecord = Omit<StoredSession, 'keyHash'> & { key?: string; keyHash?: string };

/**
 * Which session: the worker's record of signed-in accounts, in memory and in IndexedDB.
 *
 * The browser stops idle workers and starts them again for the next request; everything in
 * memory is gone then, so every change is written through to storage and the first lookup after
 * a start waits for the stored sessions.
 */
export interface StoredSession extends Omit<SessionInit, 'key'> {
  /**
   * The SHA-256 of the session's key, hex. The key itself stays in its tab (sessionStorage) and
   * in messages: a script that reads this database learns nothing that signs the session out,
   * hands it keys or changes it.
   */
  keyHash: string;
  /** The clients (tabs) that registered this session; their requests use its token. */
  clientIds: string[];
  updatedAt: number;
  /**
   * The tab whose registration has not yet confirmed it holds a handle (see `SessionMessage`):
   * until then the session is held in memory only.
   */
  provisionalFor?: string;
}

// A session no open tab uses is kept this long, so `mediaUrl` links opened from it still work.
const ABANDONED_SESSION_LIFETIME_MS = 30 * 24 * 60 * 60 * 1000;

export class SessionStore {
  private readonly sessions = new Map<string, StoredSession>();
  private loaded: Promise<void> | undefined;

  constructor(
    private readonly idb: UseStore = createStore('matrix-media-sw', 'sessions'),
    private readonly now: () => number = Date.now,
  ) {}

  /** Resolves once the stored sessions are in memory; a failed read is retried on the next call. */
  ready(): Promise<void> {
    this.loaded ??= entries<string, LegacyRecord>(this.idb).then(
      async (stored) => {
        for (const [id, record] of stored) {
          if (this.sessions.has(id)) continue;
          const { key, keyHash, ...rest } = record;
          if (keyHash === undefined && key === undefined) continue;
          const session: StoredSession = { ...rest, keyHash: keyHash ?? (await hashKey(key!)) };
          this.sessions.set(id, session);
          // Written again without the key, by the version that no longer keeps it.
          if (key !== undefined) await set(id, session, this.idb);
        }
      },
      (error: unknown) => {
        this.loaded = undefined;
        throw error;
      },
    );
    return this.loaded;
  }

  async byId(id: string): Promise<StoredSession | undefined> {
    await this.ready();
    return this.sessions.get(id);
  }

  /** The most recent session that `clientId` registered for the homeserver at `base`. */
  async forClient(clientId: string, base: string): Promise<StoredSession | undefined> {
    await this.ready();
    return this.newest((s) => s.homeserverUrl === base && s.clientIds.includes(clientId));
  }

  /** The most recently updated session for `base`, whoever registered it. */
  async newestFor(base: string): Promise<StoredSession | undefined> {
    await this.ready();
    return this.newest((s) => s.homeserverUrl === base);
  }

  /** True when `clientId` registered any session: such a client need not be asked again. */
  async knowsClient(clientId: string): Promise<boolean> {
    await this.ready();
    return [...this.sessions.values()].some((s) => s.clientIds.includes(clientId));
  }

  /**
   * Records `init` as registered by `clientId`, replacing the token it had. Returns undefined,
   * changing nothing, when a session of that id exists under another key. A provisional session
   * stays in memory until `confirm`; a session once confirmed stays confirmed.
   */
  async put(init: SessionInit, clientId: string, { provisional = false } = {}): Promise<StoredSession | undefined> {
    await this.ready();
    const keyHash = await hashKey(init.key);
    const previous = this.sessions.get(init.id);
    // Another homeserver is another session: a token refreshed later must never follow a new URL.
    if (previous && (previous.keyHash !== keyHash || previous.homeserverUrl !== init.homeserverUrl)) return undefined;
    const clientIds = previous ? previous.clientIds.filter((id) => id !== clientId) : [];
    const session: StoredSession = {
      id: init.id,
      keyHash,
      homeserverUrl: init.homeserverUrl,
      accessToken: init.accessToken,
      clientIds: [...clientIds, clientId],
      updatedAt: this.now(),
    };
    // Memory only, even over a stored session of this id (a tab reuses its id across reloads):
    // the new token reaches storage only with `confirm`.
    if (provisional) session.provisionalFor = clientId;
    await this.write(session);
    return session;
  }

  /** True when session `id` exists and `key` is its key. */
  async holdsKey(id: string, key: string): Promise<boolean> {
    await this.ready();
    const session = this.sessions.get(id);
    return session !== undefined && session.keyHash === (await hashKey(key));
  }

  /** The clients of session `id` as known now, without waiting for storage (none if it is not loaded). */
  clientIdsOf(id: string): readonly string[] {
    return this.sessions.get(id)?.clientIds ?? [];
  }

  /** Keeps a provisional session in storage from now on; false if it is unknown or the key differs. */
  async confirm(id: string, key: string): Promise<boolean> {
    if (!(await this.holdsKey(id, key))) return false;
    const session = this.sessions.get(id);
    if (!session) return false;
    if (session.provisionalFor !== undefined) {
      const { provisionalFor: _, ...confirmed } = session;
      await this.write(confirmed);
    }
    return true;
  }

  /** Replaces the token of session `id` (after a refresh); returns false if it no longer exists. */
  async setToken(id: string, accessToken: string | null): Promise<boolean> {
    await this.ready();
    const session = this.sessions.get(id);
    if (!session) return false;
    await this.write({ ...session, accessToken, updatedAt: this.now() });
    return true;
  }

  /** Forgets session `id` in memory and in storage; it takes the session's key. */
  async remove(id: string, key: string): Promise<boolean> {
    if (!(await this.holdsKey(id, key))) return false;
    this.sessions.delete(id);
    await del(id, this.idb);
    return true;
  }

  /**
   * Drops client IDs that no longer exist, sessions that no client has used for a month, and
   * provisional sessions whose page is gone (it navigated away before it had a handle).
   * @param liveClientIds the IDs of the clients that exist now
   * @returns the IDs of the sessions forgotten, whose stored media must go too
   */
  async prune(liveClientIds: readonly string[]): Promise<string[]> {
    await this.ready();
    const live = new Set(liveClientIds);
    const forgotten: string[] = [];
    for (const session of [...this.sessions.values()]) {
      const clientIds = session.clientIds.filter((id) => live.has(id));
      if (session.provisionalFor !== undefined && !live.has(session.provisionalFor)) {
        // What was stored before this registration, if anything, stands again.
        const stored = await get<StoredSession>(session.id, this.idb);
        if (stored) this.sessions.set(session.id, stored);
        else {
          this.sessions.delete(session.id);
          forgotten.push(session.id);
        }
      } else if (clientIds.length === 0 && this.now() - session.updatedAt > ABANDONED_SESSION_LIFETIME_MS) {
        this.sessions.delete(session.id);
        await del(session.id, this.idb);
        forgotten.push(session.id);
      } else if (clientIds.length !== session.clientIds.length) {
        await this.write({ ...session, clientIds });
      }
    }
    return forgotten;
  }

  private newest(predicate: (session: StoredSession) => boolean): StoredSession | undefined {
    let best: StoredSession | undefined;
    for (const session of this.sessions.values()) {
      if (predicate(session) && (!best || session.updatedAt > best.updatedAt)) best = session;
    }
    return best;
  }

  private async write(session: StoredSession): Promise<void> {
    // Memory first: a request arriving while IndexedDB writes must already see the new token.
    this.sessions.set(session.id, session);
    if (session.provisionalFor === undefined) await set(session.id, session, this.idb);
  }
}
