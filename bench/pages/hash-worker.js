// Hashes 64 MiB in 1 MiB pieces with each incremental SHA-256 candidate; WebCrypto's one-shot
// digest of the same bytes is the reference. Run by bench/hashThroughput.ts.
import { sha256 } from '/node_modules/@noble/hashes/sha2.js';
import { createSHA256 } from '/node_modules/hash-wasm/dist/index.esm.js';

const PIECES = 64;
const piece = new Uint8Array(1 << 20);
crypto.getRandomValues(piece.subarray(0, 65536));
const mibPerSecond = (ms) => PIECES / (ms / 1000);

async function once() {
  let t = performance.now();
  const noble = sha256.create();
  for (let i = 0; i < PIECES; i++) noble.update(piece);
  noble.digest();
  const nobleRate = mibPerSecond(performance.now() - t);
  t = performance.now();
  const wasm = await createSHA256();
  wasm.init();
  for (let i = 0; i < PIECES; i++) wasm.update(piece);
  wasm.digest('binary');
  const wasmRate = mibPerSecond(performance.now() - t);
  const whole = new Uint8Array(PIECES << 20);
  for (let i = 0; i < PIECES; i++) whole.set(piece, i << 20);
  t = performance.now();
  await crypto.subtle.digest('SHA-256', whole);
  return { noble: nobleRate, hashWasm: wasmRate, webCryptoOneShot: mibPerSecond(performance.now() - t) };
}

onmessage = async () => {
  const runs = [];
  for (let i = 0; i < 3; i++) runs.push(await once());
  postMessage(runs);
};
