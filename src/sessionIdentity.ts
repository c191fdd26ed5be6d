/**
 * Which id and key a page's session has. They survive reloads of this tab (sessionStorage), so
 * `mediaUrl` links opened from it keep working, while another tab, possibly signed in as
 * someone else, gets its own.
 */

export interface SessionIdentity {
  id: string;
  key: string;
}

function storageKey(homeserverUrl: string): string {
  return `matrix-media-sw:session:${homeserverUrl}`;
}

function randomHex(bytes: number): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(bytes)), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** This tab's identity for `homeserverUrl`, unless `taken(id)`: then a fresh one. */
export function sessionIdentityFor(homeserverUrl: string, taken: (id: string) => boolean): SessionIdentity {
  const fresh = { id: randomHex(16), key: randomHex(16) };
  try {
    const key = storageKey(homeserverUrl);
    const stored = JSON.parse(sessionStorage.getItem(key) ?? 'null') as Partial<SessionIdentity> | null;
    if (
      stored &&
      typeof stored.id === 'string' &&
      /^[0-9a-f]{32}$/.test(stored.id) &&
      typeof stored.key === 'string' &&
      /^[0-9a-f]{32}$/.test(stored.key) &&
      !taken(stored.id)
    ) {
      return { id: stored.id, key: stored.key };
    }
    sessionStorage.setItem(key, JSON.stringify(fresh));
  } catch {
    // Storage disabled: the session lasts as long as the page.
  }
  return fresh;
}

export function forgetSessionIdentity(homeserverUrl: string, id: string): void {
  try {
    const key = storageKey(homeserverUrl);
    const stored = JSON.parse(sessionStorage.getItem(key) ?? 'null') as Partial<SessionIdentity> | null;
    if (stored?.id === id) sessionStorage.removeItem(key);
  } catch {
    // Storage disabled: nothing was kept.
  }
}
