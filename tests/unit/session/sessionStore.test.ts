import { IDBFactory } from 'fake-indexeddb';
import { createStore, keys } from 'idb-keyval';
import { beforeEach, describe, expect, it } from 'vitest';
import { SessionStore } from '../../../sw/session/sessionStore.js';

const HS = 'https://hs.example';
const KEY = 'k'.repeat(32);
const DAY = 24 * 60 * 60 * 1000;

// Each test gets its own IndexedDB; a "restart" is a new SessionStore on the same database,
// which is what a worker the browser stopped and started again sees.
let idb: ReturnType<typeof createStore>;
beforeEach(() => {
  globalThis.indexedDB = new IDBFactory();
  idb = createStore('matrix-media-sw', 'sessions');
});

describe('SessionStore', () => {
  it('finds a session by the client that registered it and its homeserver', async () => {
    const store = new SessionStore(idb);
    await store.put({ id: 's1', key: KEY, homeserverUrl: HS, accessToken: 'tok-1' }, 'client-a');
    expect((await store.forClient('client-a', HS))?.accessToken).toBe('tok-1');
    expect(await store.forClient('client-b', HS)).toBeUndefined();
    expect(await store.forClient('client-a', 'https://other.example')).toBeUndefined();
  });

  it('keeps two users of one homeserver apart', async () => {
    const store = new SessionStore(idb);
    await store.put({ id: 's1', key: KEY, homeserverUrl: HS, accessToken: 'alice' }, 'tab-1');
    await store.put({ id: 's2', key: KEY, homeserverUrl: HS, accessToken: 'bob' }, 'tab-2');
    expect((await store.forClient('tab-1', HS))?.accessToken).toBe('alice');
    expect((await store.forClient('tab-2', HS))?.accessToken).toBe('bob');
  });

  it('survives a restart: a new store reads what the old one wrote', async () => {
    const before = new SessionStore(idb);
    await before.put({ id: 's1', key: KEY, homeserverUrl: HS, accessToken: 'tok-1' }, 'client-a');
    await before.setToken('s1', 'tok-2');
    const after = new SessionStore(idb);
    expect(await after.byId('s1')).toMatchObject({ accessToken: 'tok-2', clientIds: ['client-a'] });
    expect((await after.forClient('client-a', HS))?.accessToken).toBe('tok-2');
  });

  it('adds a reloaded tab to the session it re-registers', async () => {
    const store = new SessionStore(idb);
    await store.put({ id: 's1', key: KEY, homeserverUrl: HS, accessToken: 'tok' }, 'before-reload');
    await store.put({ id: 's1', key: KEY, homeserverUrl: HS, accessToken: 'tok' }, 'after-reload');
    expect((await store.byId('s1'))?.clientIds).toEqual(['before-reload', 'after-reload']);
  });

  it('forgets a signed-out session in memory and in storage', async () => {
    const store = new SessionStore(idb);
    await store.put({ id: 's1', key: KEY, homeserverUrl: HS, accessToken: 'tok' }, 'client-a');
    expect(await store.remove('s1', KEY)).toBe(true);
    expect(await store.byId('s1')).toBeUndefined();
    expect(await keys(idb)).toEqual([]);
    expect(await new SessionStore(idb).byId('s1')).toBeUndefined();
  });

  it('lets only the holder of a session\'s key change or remove it', async () => {
    const store = new SessionStore(idb);
    await store.put({ id: 's1', key: KEY, homeserverUrl: HS, accessToken: 'tok' }, 'client-a');
    expect(await store.remove('s1', 'x'.repeat(32))).toBe(false);
    expect(await store.put({ id: 's1', key: 'x'.repeat(32), homeserverUrl: HS, accessToken: 'stolen' }, 'intruder')).toBeUndefined();
    expect(await store.byId('s1')).toMatchObject({ accessToken: 'tok', clientIds: ['client-a'] });
  });

  it('picks the most recent session of a homeserver for navigations', async () => {
    let now = 1000;
    const store = new SessionStore(idb, () => now);
    await store.put({ id: 'old', key: KEY, homeserverUrl: HS, accessToken: 'a' }, 't1');
    now = 2000;
    await store.put({ id: 'new', key: KEY, homeserverUrl: HS, accessToken: 'b' }, 't2');
    expect((await store.newestFor(HS))?.id).toBe('new');
  });

  it('prunes gone clients, and sessions unused for a month', async () => {
    let now = 0;
    const store = new SessionStore(idb, () => now);
    await store.put({ id: 'kept', key: KEY, homeserverUrl: HS, accessToken: 'a' }, 'live');
    await store.put({ id: 'kept', key: KEY, homeserverUrl: HS, accessToken: 'a' }, 'gone');
    await store.put({ id: 'recent', key: KEY, homeserverUrl: HS, accessToken: 'b' }, 'gone');
    now = 29 * DAY;
    await store.put({ id: 'recent', key: KEY, homeserverUrl: HS, accessToken: 'b' }, 'gone');
    now = 31 * DAY;
    await store.prune(['live']);
    expect((await store.byId('kept'))?.clientIds).toEqual(['live']);
    expect((await store.byId('recent'))?.clientIds).toEqual([]);
    now = 60 * DAY;
    await store.prune(['live']);
    expect(await store.byId('recent')).toBeUndefined();
    expect(await new SessionStore(idb).byId('recent')).toBeUndefined();
    expect(await store.byId('kept')).toBeDefined();
  });

  it('knows which clients registered anything', async () => {
    const store = new SessionStore(idb);
    await store.put({ id: 's1', key: KEY, homeserverUrl: HS, accessToken: null }, 'client-a');
    expect(await store.knowsClient('client-a')).toBe(true);
    expect(await store.knowsClient('client-b')).toBe(false);
  });

  describe('provisional sessions (a registration that has not yet handed out its handle)', () => {
    it('serve requests but reach storage only when confirmed', async () => {
      const store = new SessionStore(idb);
      await store.put({ id: 's1', key: KEY, homeserverUrl: HS, accessToken: 'tok' }, 'tab', { provisional: true });
      expect((await store.forClient('tab', HS))?.accessToken).toBe('tok');
      expect(await keys(idb)).toEqual([]);
      expect(await store.confirm('s1', 'x'.repeat(32))).toBe(false);
      expect(await keys(idb)).toEqual([]);
      expect(await store.confirm('s1', KEY)).toBe(true);
      expect(await new SessionStore(idb).byId('s1')).toMatchObject({ accessToken: 'tok' });
      expect((await new SessionStore(idb).byId('s1'))?.provisionalFor).toBeUndefined();
    });

    it('are gone after a restart, and pruned once their tab is gone', async () => {
      const store = new SessionStore(idb);
      await store.put({ id: 's1', key: KEY, homeserverUrl: HS, accessToken: 'tok' }, 'tab', { provisional: true });
      expect(await new SessionStore(idb).byId('s1')).toBeUndefined();
      await store.prune(['tab']);
      expect(await store.byId('s1')).toBeDefined();
      await store.prune([]);
      expect(await store.byId('s1')).toBeUndefined();
      expect(await store.confirm('s1', KEY)).toBe(false);
    });

    it('over a stored session of the same id, keep the new token out of storage, and the stored one stands again when pruned', async () => {
      const store = new SessionStore(idb);
      await store.put({ id: 's1', key: KEY, homeserverUrl: HS, accessToken: 'old' }, 'before-reload');
      await store.put({ id: 's1', key: KEY, homeserverUrl: HS, accessToken: 'new' }, 'after-reload', { provisional: true });
      expect((await store.byId('s1'))?.accessToken).toBe('new');
      expect((await new SessionStore(idb).byId('s1'))?.accessToken).toBe('old');
      await store.prune(['before-reload']);
      expect((await store.byId('s1'))?.accessToken).toBe('old');
    });

    it('are removed by sign-out together with what was stored under their id', async () => {
      const store = new SessionStore(idb);
      await store.put({ id: 's1', key: KEY, homeserverUrl: HS, accessToken: 'old' }, 'tab');
      await store.put({ id: 's1', key: KEY, homeserverUrl: HS, accessToken: 'new' }, 'tab', { provisional: true });
      expect(await store.remove('s1', KEY)).toBe(true);
      expect(await keys(idb)).toEqual([]);
    });
  });
});
