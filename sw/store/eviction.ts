import type { StoredFile } from './storedFile.js';

/**
 * Which files go when the store needs room: the least recently used first, never one in `keep`
 * (being downloaded or written); a session's own files to keep within its limit, then anyone's
 * to keep the origin within its limit.
 */

/** What eviction needs of the store. */
export interface Evictable {
  /** Every stored record, least recently used first. */
  list(): StoredFile[];
  /** Bytes stored, of session `sessionId` or of every session. */
  usedBytes(sessionId?: string): number;
  delete(key: string): Promise<void>;
}

/** The most a session keeps (`own`) and the most the origin keeps (`all`). */
export interface Limits {
  own: number;
  all: number;
}

/** Evicts until `bytes` more fit within `limits` for session `sessionId`; false if they cannot. */
export async function evictUntil(store: Evictable, bytes: number, keep: ReadonlySet<string>, sessionId: string | undefined, limits: Limits): Promise<boolean> {
  while (sessionId !== undefined && store.usedBytes(sessionId) + bytes > limits.own) {
    if (!(await evictOne(store, keep, sessionId))) return false;
  }
  while (store.usedBytes() + bytes > limits.all) {
    if (!(await evictOne(store, keep, undefined))) return false;
  }
  return true;
}

/**
 * Makes room for `bytes` more of session `sessionId`, as evictUntil; but evicts nothing for
 * bytes that could not fit beside the files that must stay (it would empty the store for a
 * write it then refuses).
 */
export async function makeRoom(store: Evictable, bytes: number, keep: ReadonlySet<string>, sessionId: string, limits: Limits): Promise<boolean> {
  // Every chunk written asks: most find room without evicting, and need not sort the index.
  if (store.usedBytes(sessionId) + bytes <= limits.own && store.usedBytes() + bytes <= limits.all) return true;
  const staying = (session?: string) => store.list().reduce((sum, f) => sum + (keep.has(f.key) && (session === undefined || f.sessionId === session) ? f.stored : 0), 0);
  if (staying(sessionId) + bytes > limits.own || staying() + bytes > limits.all) return false;
  return evictUntil(store, bytes, keep, sessionId, limits);
}

async function evictOne(store: Evictable, keep: ReadonlySet<string>, sessionId: string | undefined): Promise<boolean> {
  const victim = store.list().find((file) => !keep.has(file.key) && (sessionId === undefined || file.sessionId === sessionId));
  if (!victim) return false;
  await store.delete(victim.key);
  return true;
}
