import type { StoreUsage } from '../src/protocol.js';
import type { MediaWorkerState } from './createMediaRoute.js';

/**
 * What the worker holds of one session's media, and how it goes: the app's "clear cache"
 * (`clearStore`: the bytes go, the session stays) and sign-out (bytes, keys and settings go).
 */

/**
 * Stops the session's downloads: their bytes, arriving later, would come back after a clear. A
 * request still waiting for its upstream answer sees the clear count move and stores nothing.
 */
function stopDownloads(state: MediaWorkerState, sessionId: string): void {
  state.clears.set(sessionId, (state.clears.get(sessionId) ?? 0) + 1);
  for (const [key, download] of state.downloads) if (key.startsWith(`${sessionId} `)) download.stop();
  for (const key of state.asked.keys()) if (key.startsWith(`${sessionId} `)) state.asked.delete(key);
}

export async function storeUsage(state: MediaWorkerState, sessionId: string): Promise<StoreUsage> {
  await state.store.ready();
  return { ...state.store.usage(sessionId), limitBytes: await state.store.limitBytes(sessionId), memoryBytes: state.memory.usedBytes(sessionId) };
}

/** Deletes every stored byte of the session; its media loads on, from the network. */
export async function clearStore(state: MediaWorkerState, sessionId: string): Promise<void> {
  stopDownloads(state, sessionId);
  await state.store.clearSession(sessionId);
}

/** Stops the session's downloads and deletes the bytes its token fetched, its keys and its settings. */
export async function forgetMedia(state: MediaWorkerState, sessionId: string): Promise<void> {
  state.keys.forget(sessionId);
  stopDownloads(state, sessionId);
  await state.store.deleteSession(sessionId).catch(() => undefined);
}
