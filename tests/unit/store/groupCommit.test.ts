import { describe, expect, it } from 'vitest';
import { GroupCommit, type Write } from '../../../sw/store/groupCommit.js';
import type { StoredFile } from '../../../sw/store/storedFile.js';

/** A database whose transactions complete (or fail) when the test says so, and that records what each put. */
function fakeDatabase() {
  const transactions: Array<{ puts: string[]; complete: () => void; fail: () => void }> = [];
  const db = {
    transaction() {
      const tx = {
        oncomplete: null as null | (() => void),
        onerror: null as null | (() => void),
        onabort: null as null | (() => void),
        error: new DOMException('The disk is full.', 'QuotaExceededError'),
        objectStore: (name: string) => ({ put: (value: unknown, key?: unknown) => entry.puts.push(name === 'files' ? `record ${(value as StoredFile).key}` : `chunk ${String(key)}`) }),
      };
      const entry = { puts: [] as string[], complete: () => tx.oncomplete?.(), fail: () => tx.onabort?.() };
      transactions.push(entry);
      return tx;
    },
  } as unknown as IDBDatabase;
  return { db, transactions };
}

const write = (key: string, bytes = 4): Write => ({ record: { key, sessionId: 's1', size: bytes, stored: bytes, headers: {}, lastUsed: 0 }, index: 0, chunks: [new Blob([new Uint8Array(bytes)])], bytes });
const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

describe('GroupCommit', () => {
  it('commits a write at once, and the writes that come meanwhile together in the next transaction', async () => {
    const { db, transactions } = fakeDatabase();
    const committed: string[] = [];
    const group = new GroupCommit((record) => committed.push(record.key));
    const a = group.commit(db, write('a'));
    await tick();
    expect(transactions.map((t) => t.puts)).toEqual([['chunk a,0', 'record a']]);
    const [b, c] = [group.commit(db, write('b')), group.commit(db, write('c'))];
    transactions[0]!.complete();
    await a;
    expect(committed).toEqual(['a']);
    await tick();
    expect(transactions.map((t) => t.puts)).toEqual([['chunk a,0', 'record a'], ['chunk b,0', 'record b', 'chunk c,0', 'record c']]);
    transactions[1]!.complete();
    await Promise.all([b, c]);
    expect(committed).toEqual(['a', 'b', 'c']);
    await group.idle();
  });

  it('a dropped write is never written, and its caller hears why', async () => {
    const { db, transactions } = fakeDatabase();
    const group = new GroupCommit(() => undefined);
    const a = group.commit(db, write('a'));
    await tick();
    const b = group.commit(db, write('b'));
    group.drop((w) => w.record.key === 'b');
    await expect(b).rejects.toMatchObject({ name: 'NotFoundError' });
    transactions[0]!.complete();
    await a;
    await group.idle();
    expect(transactions).toHaveLength(1);
  });

  it('a failed transaction fails its own writes only', async () => {
    const { db, transactions } = fakeDatabase();
    const committed: string[] = [];
    const group = new GroupCommit((record) => committed.push(record.key));
    const a = group.commit(db, write('a'));
    await tick();
    const b = group.commit(db, write('b'));
    transactions[0]!.fail();
    await expect(a).rejects.toMatchObject({ name: 'QuotaExceededError' });
    await tick();
    transactions[1]!.complete();
    await b;
    expect(committed).toEqual(['b']);
  });

  it("a group stops growing at 4 MiB: a video's batches of chunks commit one by one", async () => {
    const { db, transactions } = fakeDatabase();
    const group = new GroupCommit(() => undefined);
    const MiB = 1024 * 1024;
    const writes = [group.commit(db, write('v1', 3 * MiB)), group.commit(db, write('v2', 3 * MiB)), group.commit(db, write('s', 1 * MiB))];
    for (let i = 0; i < 2; i++) {
      await tick();
      transactions[i]!.complete();
    }
    await Promise.all(writes);
    expect(transactions.map((t) => t.puts.filter((p) => p.startsWith('record')))).toEqual([['record v1'], ['record v2', 'record s']]);
  });
});
