import { completion } from './idb.js';

/**
 * What each session asked of the store when it registered: `storeBytes` (the most it keeps) and
 * `storeMaxAgeMs` (the longest a file is served without asking the server). Kept in the store's
 * 'meta' object store as `<setting> <session id>`, so a restarted worker still follows them.
 */

export type Setting = 'limit' | 'max-age';
const SETTINGS: readonly Setting[] = ['limit', 'max-age'];

export class StoreSettings {
  private readonly values = new Map<Setting, Map<string, number>>(SETTINGS.map((setting) => [setting, new Map()]));

  /** Takes the settings among the 'meta' entries read at start (an origin-wide 'limit' of earlier versions is ignored). */
  load(keys: readonly IDBValidKey[], values: readonly unknown[]): void {
    keys.forEach((key, i) => {
      const value = values[i];
      if (typeof key !== 'string' || typeof value !== 'number') return;
      const space = key.indexOf(' ');
      const setting = key.slice(0, space) as Setting;
      const settings = this.values.get(setting);
      if (space > 0 && settings && !settings.has(key.slice(space + 1))) settings.set(key.slice(space + 1), value);
    });
  }

  get(setting: Setting, sessionId: string): number | undefined {
    return this.values.get(setting)!.get(sessionId);
  }

  /** Every session's value of `setting`. */
  all(setting: Setting): number[] {
    return [...this.values.get(setting)!.values()];
  }

  async set(db: IDBDatabase | undefined, setting: Setting, sessionId: string, value: number): Promise<void> {
    this.values.get(setting)!.set(sessionId, value);
    if (!db) return;
    const tx = db.transaction('meta', 'readwrite');
    tx.objectStore('meta').put(value, `${setting} ${sessionId}`);
    await completion(tx);
  }

  /** Forgets every setting of `sessionId` (sign-out). */
  async forget(db: IDBDatabase | undefined, sessionId: string): Promise<void> {
    const held = SETTINGS.filter((setting) => this.values.get(setting)!.delete(sessionId));
    if (!db || held.length === 0) return;
    const tx = db.transaction('meta', 'readwrite');
    for (const setting of held) tx.objectStore('meta').delete(`${setting} ${sessionId}`);
    await completion(tx);
  }
}
