/**
 * `npx tsx bench/storeBackends.ts`: which browser store the worker's media store should keep its
 * chunks in. Writes 64 chunks of 1 MiB, then reads them back, and reads single chunks at random,
 * in IndexedDB (one transaction per chunk, chunk and file record together, then four per
 * transaction, as bytes and as Blobs) and in Cache Storage
 * (one Response per chunk), inside a dedicated worker, in Chromium and Firefox. Prints MiB/s and
 * milliseconds; the choice and its reasons are in sw/store/mediaStore.ts.
 */
import { resolve } from 'node:path';
import { startAppServer } from '../tests/browser/appServer.js';
import { ENGINES } from './engines.js';

const WORKER = `
const CHUNKS = 64, SIZE = 1 << 20;
// Random bytes, as video is: Chromium compresses IndexedDB values, so zeros would flatter it.
const RANDOM = new Uint8Array(SIZE + 4096);
for (let o = 0; o < RANDOM.length; o += 65536) crypto.getRandomValues(RANDOM.subarray(o, o + 65536));
const chunk = (i) => RANDOM.slice((i % 4) * 1024, (i % 4) * 1024 + SIZE);
const median = (xs) => xs.sort((a, b) => a - b)[xs.length >> 1];
function idbOpen() {
  return new Promise((ok, fail) => {
    const r = indexedDB.open('bench-' + Math.random(), 1);
    r.onupgradeneeded = () => { r.result.createObjectStore('chunks'); r.result.createObjectStore('files'); };
    r.onsuccess = () => ok(r.result); r.onerror = () => fail(r.error);
  });
}
const done = (tx) => new Promise((ok, fail) => { tx.oncomplete = ok; tx.onerror = () => fail(tx.error); tx.onabort = () => fail(tx.error); });
async function idb() {
  const db = await idbOpen();
  let t = performance.now();
  for (let i = 0; i < CHUNKS; i++) {
    const tx = db.transaction(['chunks', 'files'], 'readwrite');
    tx.objectStore('chunks').put(chunk(i).buffer, 'f/' + i);
    tx.objectStore('files').put({ stored: (i + 1) * SIZE }, 'f');
    await done(tx);
  }
  const write = CHUNKS / ((performance.now() - t) / 1000);
  t = performance.now();
  for (let i = 0; i < CHUNKS; i++) {
    const tx = db.transaction('chunks');
    const got = await new Promise((ok) => { const r = tx.objectStore('chunks').get('f/' + i); r.onsuccess = () => ok(r.result); });
    if (got.byteLength !== SIZE) throw new Error('short');
  }
  const read = CHUNKS / ((performance.now() - t) / 1000);
  const one = [];
  for (let k = 0; k < 20; k++) {
    const s = performance.now();
    await new Promise((ok) => { const r = db.transaction('chunks').objectStore('chunks').get('f/' + ((k * 7) % CHUNKS)); r.onsuccess = () => ok(r.result); });
    one.push(performance.now() - s);
  }
  // Four chunks per transaction, as the worker writes them when the network is ahead of the disk.
  t = performance.now();
  for (let i = 0; i < CHUNKS; i += 4) {
    const tx = db.transaction(['chunks', 'files'], 'readwrite');
    for (let j = i; j < i + 4; j++) tx.objectStore('chunks').put(chunk(j).buffer, 'g/' + j);
    tx.objectStore('files').put({ stored: (i + 4) * SIZE }, 'g');
    await done(tx);
  }
  const batched = CHUNKS / ((performance.now() - t) / 1000);
  // The same, each chunk a Blob made of the network's 64 KiB pieces, as the worker stores them now.
  const pieces = (i) => { const c = chunk(i), out = []; for (let o = 0; o < SIZE; o += 65536) out.push(c.subarray(o, o + 65536)); return out; };
  t = performance.now();
  for (let i = 0; i < CHUNKS; i += 4) {
    const tx = db.transaction(['chunks', 'files'], 'readwrite');
    for (let j = i; j < i + 4; j++) tx.objectStore('chunks').put(new Blob(pieces(j)), 'b/' + j);
    tx.objectStore('files').put({ stored: (i + 4) * SIZE }, 'b');
    await done(tx);
  }
  const blobWrite = CHUNKS / ((performance.now() - t) / 1000);
  t = performance.now();
  for (let i = 0; i < CHUNKS; i++) {
    const tx = db.transaction('chunks');
    const got = await new Promise((ok) => { const r = tx.objectStore('chunks').get('b/' + i); r.onsuccess = () => ok(r.result); });
    if ((await got.arrayBuffer()).byteLength !== SIZE) throw new Error('short');
  }
  const blobRead = CHUNKS / ((performance.now() - t) / 1000);
  const name = db.name;
  db.close();
  await new Promise((ok) => { const r = indexedDB.deleteDatabase(name); r.onsuccess = ok; r.onerror = ok; });
  return { writeMiBs: write, batchedWriteMiBs: batched, readMiBs: read, oneChunkMs: median(one), blobWriteMiBs: blobWrite, blobReadMiBs: blobRead };
}
async function cache() {
  const c = await caches.open('bench-' + Math.random());
  let t = performance.now();
  for (let i = 0; i < CHUNKS; i++) await c.put('https://store.invalid/f/' + i, new Response(chunk(i)));
  const write = CHUNKS / ((performance.now() - t) / 1000);
  t = performance.now();
  for (let i = 0; i < CHUNKS; i++) {
    const got = await (await c.match('https://store.invalid/f/' + i)).arrayBuffer();
    if (got.byteLength !== SIZE) throw new Error('short');
  }
  const read = CHUNKS / ((performance.now() - t) / 1000);
  const one = [];
  for (let k = 0; k < 20; k++) {
    const s = performance.now();
    await (await c.match('https://store.invalid/f/' + ((k * 7) % CHUNKS))).arrayBuffer();
    one.push(performance.now() - s);
  }
  return { writeMiBs: write, readMiBs: read, oneChunkMs: median(one) };
}
onmessage = async () => {
  const results = { indexedDB: [], cacheStorage: [] };
  for (let rep = 0; rep < 3; rep++) { results.indexedDB.push(await idb()); results.cacheStorage.push(await cache()); }
  postMessage(results);
};
`;

const ROOT = resolve(import.meta.dirname, '..');
const app = await startAppServer([resolve(ROOT, 'tests/browser/pages')]);
try {
  for (const [name, launch] of ENGINES) {
    const browser = await launch();
    const page = await browser.newPage();
    await page.goto(`${app.url}/index.html`);
    const results = await page.evaluate(
      (code) =>
        new Promise((ok) => {
          const worker = new Worker(URL.createObjectURL(new Blob([code], { type: 'text/javascript' })));
          worker.onmessage = (event) => ok(event.data);
          worker.postMessage('go');
        }),
      WORKER,
    );
    const med = (rows: Array<Record<string, number>>, key: string) => rows.map((r) => r[key]!).sort((a, b) => a - b)[1]!.toFixed(1);
    for (const [store, rows] of Object.entries(results as Record<string, Array<Record<string, number>>>)) {
      const batched = store === 'indexedDB' ? ` (four chunks per transaction: ${med(rows, 'batchedWriteMiBs')} MiB/s; the same as Blobs: write ${med(rows, 'blobWriteMiBs')}, read ${med(rows, 'blobReadMiBs')} MiB/s)` : '';
      console.log(`${name} ${store}: write ${med(rows, 'writeMiBs')} MiB/s${batched}, read ${med(rows, 'readMiBs')} MiB/s, one chunk ${med(rows, 'oneChunkMs')} ms (median of 3)`);
    }
    await browser.close();
  }
} finally {
  await app.close();
}
