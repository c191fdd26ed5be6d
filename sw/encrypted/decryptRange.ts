/**
 * How an encrypted attachment is decrypted: AES-256-CTR with a 64-bit counter (the spec's
 * "Sending encrypted attachments"), any range of it, without decrypting what is not asked for.
 */

const BLOCK = 16;
/** Bytes on an ordinary ArrayBuffer, as WebCrypto takes them. */
export type Bytes = Uint8Array<ArrayBuffer>;
const LOW_64 = (1n << 64n) - 1n;

/**
 * The counter block of AES block `blockIndex`: the IV with the index added to its low 64 bits,
 * modulo 2^64, the high half untouched. Current clients start the low half at zero; older ones
 * did not, so the carry must wrap within the low half exactly as WebCrypto's `length: 64` does.
 */
export function counterBlock(iv: Uint8Array, blockIndex: number): Bytes {
  const counter = new Uint8Array(iv);
  const view = new DataView(counter.buffer);
  view.setBigUint64(8, (view.getBigUint64(8) + BigInt(blockIndex)) & LOW_64);
  return counter;
}

/** Imports a `k` (32 raw bytes) for AES-CTR decryption; the key cannot be exported again. */
export function importAesKey(raw: Bytes): Promise<CryptoKey> {
  return crypto.subtle.importKey('raw', raw, { name: 'AES-CTR' }, false, ['decrypt']);
}

/** Decrypts `ciphertext`, whose first byte is byte `offset` of the file. */
export async function decryptAt(key: CryptoKey, iv: Uint8Array, offset: number, ciphertext: Uint8Array): Promise<Uint8Array> {
  const skip = offset % BLOCK;
  let input: Bytes;
  if (skip === 0) {
    input = ciphertext.buffer instanceof ArrayBuffer ? (ciphertext as Bytes) : new Uint8Array(ciphertext);
  } else {
    // Start at the block boundary; the bytes before `offset` are never returned.
    input = new Uint8Array(skip + ciphertext.byteLength);
    input.set(ciphertext, skip);
  }
  const plain = await crypto.subtle.decrypt({ name: 'AES-CTR', counter: counterBlock(iv, Math.floor(offset / BLOCK)), length: 64 }, key, input);
  return new Uint8Array(plain, skip);
}

/**
 * Turns a stream of ciphertext starting at byte `offset` of the file into its plaintext,
 * decrypting whole blocks as they arrive (a piece that ends mid-block waits for the rest).
 */
export function decryptStream(key: CryptoKey, iv: Uint8Array, offset: number): TransformStream<Uint8Array, Uint8Array> {
  let position = offset;
  let carry = new Uint8Array(0);
  const decryptSome = async (bytes: Uint8Array, controller: TransformStreamDefaultController<Uint8Array>, final: boolean) => {
    // Up to the last block boundary the bytes reach (none, if they end before the next one).
    const boundary = Math.floor((position + bytes.byteLength) / BLOCK) * BLOCK;
    const aligned = final ? bytes.byteLength : Math.max(0, boundary - position);
    if (aligned > 0) {
      controller.enqueue(await decryptAt(key, iv, position, bytes.subarray(0, aligned)));
      position += aligned;
    }
    carry = bytes.slice(aligned);
  };
  return new TransformStream({
    async transform(chunk, controller) {
      let bytes = chunk;
      if (carry.byteLength > 0) {
        bytes = new Uint8Array(carry.byteLength + chunk.byteLength);
        bytes.set(carry);
        bytes.set(chunk, carry.byteLength);
      }
      await decryptSome(bytes, controller, false);
    },
    async flush(controller) {
      if (carry.byteLength > 0) await decryptSome(carry, controller, true);
    },
  });
}
