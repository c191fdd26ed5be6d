import { describe, expect, it } from 'vitest';
import { MemoryBudget } from '../../../sw/store/memoryBudget.js';
import { EncryptionKeys } from '../../../sw/encrypted/encryptionKeys.js';
import { fileIdInput, fileIdOf, type EncryptedFile } from '../../../src/encryptedFile.js';
import { HS, KEY, SCOPE, setup } from '../workerHarness.js';

// One memory bound for the worker as a whole (issue 31, item 7): many files at once, whoever holds them.

describe('MemoryBudget', () => {
  it('takes within its limit, by owner, and gives back', () => {
    const budget = new MemoryBudget(100);
    expect(budget.take(60, 'a')).toBe(true);
    expect(budget.take(50, 'b')).toBe(false);
    expect(budget.take(40, 'b')).toBe(true);
    expect([budget.usedBytes(), budget.usedBytes('a'), budget.usedBytes('b')]).toEqual([100, 60, 40]);
    budget.give(60, 'a');
    expect([budget.usedBytes(), budget.usedBytes('a')]).toEqual([40, 0]);
  });

  it('reserve waits its turn for room, and gives up after its time', async () => {
    const budget = new MemoryBudget(100);
    budget.take(90);
    const first = budget.reserve(50, 1_000);
    const second = budget.reserve(20, 30);
    expect(await second).toBe(false);
    budget.give(90);
    expect(await first).toBe(true);
    expect(budget.usedBytes()).toBe(50);
    expect(await budget.reserve(101, 1_000)).toBe(false);
  });
});

const SIZE = 40;
const file = (n: number) => Uint8Array.from({ length: SIZE }, (_, i) => (i + n) % 256);
const urlOf = (n: number) => `${SCOPE}matrix-media-sw/s1/download/hs.example/clip${n}`;

describe('no-store files played at once', () => {
  it('hold at most the worker\'s bound between them; the rest stream through, and every play gets its bytes', async () => {
    const t = setup({
      route: (request) => {
        const n = Number(/clip(\d+)/.exec(request.url)![1]);
        return new Response(request.method === 'HEAD' ? null : file(n), { status: 200, headers: { 'Content-Length': String(SIZE), 'Cache-Control': 'no-store' } });
      },
    });
    t.ctx.memory = new MemoryBudget(100);
    t.ctx.lingerMs = 5_000;
    await t.sessions.put({ id: 's1', key: KEY, homeserverUrl: HS, accessToken: 'tok' }, 'tab-1');
    const plays = await Promise.all([1, 2, 3, 4, 5, 6].map((n) => t.request(urlOf(n), { headers: { Range: 'bytes=0-' } })));
    // Two files of 40 fit in 100; the other four are passed through as without a worker.
    expect(t.ctx.memory.usedBytes('s1')).toBe(80);
    const bodies = await Promise.all(plays.map(async (r) => new Uint8Array(await r.arrayBuffer())));
    bodies.forEach((body, i) => expect(body).toEqual(file(i + 1)));
    expect(t.ctx.memory.usedBytes()).toBeLessThanOrEqual(100);
    // A seek of a held file reads memory; one of a file passed through asks the server again.
    const before = t.mediaSeen().length;
    const seeks = await Promise.all([1, 2, 3, 4, 5, 6].map(async (n) => new Uint8Array(await (await t.request(urlOf(n), { headers: { Range: 'bytes=10-19' } })).arrayBuffer())));
    seeks.forEach((body, i) => expect(body).toEqual(file(i + 1).slice(10, 20)));
    expect(t.mediaSeen().length - before).toBe(4);
    expect(t.ctx.memory.usedBytes()).toBeLessThanOrEqual(100);
    // The views end: what they held is given back.
    for (const download of t.ctx.downloads.values()) download.stop();
    expect(t.ctx.memory.usedBytes()).toBe(0);
  });
});

describe('attachment keys', () => {
  const encrypted = async (n: number): Promise<{ file: EncryptedFile; id: string }> => {
    const file: EncryptedFile = {
      v: 'v2',
      url: `mxc://hs.example/f${n}`,
      key: { kty: 'oct', key_ops: ['encrypt', 'decrypt'], alg: 'A256CTR', k: 'qcHVMSgYg-71CauWBezXI5qkaRb0LuIy-Wx5kIaHMIA', ext: true },
      iv: 'X85+XgHN+HEAAAAAAAAAAA',
      hashes: { sha256: `${'A'.repeat(42)}${String(n).padStart(1, '0')}` },
    };
    return { file, id: fileIdOf(new Uint8Array(await crypto.subtle.digest('SHA-256', fileIdInput(file)))) };
  };

  it('are held up to a bound over every session; the least recently used go, and are asked of the page again', async () => {
    const asked: string[] = [];
    const files = await Promise.all([1, 2, 3, 4].map(encrypted));
    const keys = new EncryptionKeys(async (_client, message) => {
      if (message.type !== 'mms/key-request') return undefined;
      asked.push(message.fileId);
      const found = files.find((f) => f.id === message.fileId)!;
      return { type: 'mms/key-reply', file: found.file, mimetype: null };
    }, 3);
    for (const f of files.slice(0, 3)) expect(await keys.add('s1', f.id, f.file, undefined)).toBe(true);
    const session = { id: 's1', keyHash: '', homeserverUrl: HS, accessToken: 'tok', clientIds: ['tab-1'], updatedAt: 0 };
    // The first is used again, so the second is the least recently used when the fourth comes.
    expect(await keys.find(session, files[0]!.id)).toBeDefined();
    expect(await keys.add('s1', files[3]!.id, files[3]!.file, undefined)).toBe(true);
    expect(keys.size).toBe(3);
    expect(asked).toEqual([]);
    expect((await keys.find(session, files[1]!.id))?.file.url).toBe(files[1]!.file.url);
    expect(asked).toEqual([files[1]!.id]);
    expect(keys.size).toBe(3);
  });
});
