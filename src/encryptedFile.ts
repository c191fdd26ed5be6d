import { MediaSwError } from './MediaSwError.js';
import { parseMxc } from './mxc.js';

/**
 * Encrypted attachments: the `EncryptedFile` of the spec's "Sending encrypted attachments"
 * (an event's `content.file`, and `content.info.thumbnail_file`). The page and the worker both
 * compile this file, so it uses only what the DOM and WebWorker libs share.
 */

/** The JSON Web Key of an encrypted attachment. */
export interface EncryptedFileKey {
  kty: 'oct';
  key_ops: string[];
  alg: 'A256CTR';
  /** 32 bytes, URL-safe unpadded base64. */
  k: string;
  ext: boolean;
}

export interface EncryptedFile {
  /** Where the ciphertext is. */
  url: string;
  key: EncryptedFileKey;
  /** 16 bytes, unpadded base64: the counter block's start. */
  iv: string;
  /** `sha256`: the SHA-256 of the whole ciphertext, unpadded base64. */
  hashes: { sha256: string } & Record<string, string>;
  v: 'v2';
}

/** Decodes base64 in either alphabet, padded or not; undefined when it is not base64. */
export function decodeBase64(text: string): Uint8Array<ArrayBuffer> | undefined {
  if (typeof text !== 'string' || !/^[A-Za-z0-9+/_-]*={0,2}$/.test(text)) return undefined;
  const standard = text.replace(/=+$/, '').replace(/-/g, '+').replace(/_/g, '/');
  if (standard.length % 4 === 1) return undefined;
  try {
    const binary = atob(standard + '='.repeat((4 - (standard.length % 4)) % 4));
    // A plain loop: Uint8Array.from with a mapping function was a visible cost in a gallery.
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes;
  } catch {
    return undefined;
  }
}

/** Unpadded base64 (standard alphabet), as the spec writes hashes and IVs. */
export function encodeBase64(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/=+$/, '');
}

function invalid(field: string, expected: string): MediaSwError {
  return new MediaSwError('invalid-encrypted-file', `Not a valid EncryptedFile: "${field}" must be ${expected}.`);
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null;

/**
 * Checks an `EncryptedFile` as the spec defines it; throws `MediaSwError('invalid-encrypted-file')`
 * naming the first field that is wrong. Messages never quote the key, the IV or the hash.
 */
export function checkEncryptedFile(file: unknown): EncryptedFile {
  if (!isRecord(file)) throw invalid('file', 'an object (an event\'s content.file or content.info.thumbnail_file)');
  if (file.v !== 'v2') throw invalid('v', '"v2"');
  if (typeof file.url !== 'string' || !parseMxc(file.url)) throw invalid('url', 'a valid mxc URI');
  const key = file.key;
  if (!isRecord(key)) throw invalid('key', 'a JSON Web Key object');
  if (key.kty !== 'oct') throw invalid('key.kty', '"oct"');
  if (key.alg !== 'A256CTR') throw invalid('key.alg', '"A256CTR"');
  if (!Array.isArray(key.key_ops) || !key.key_ops.includes('encrypt') || !key.key_ops.includes('decrypt')) {
    throw invalid('key.key_ops', 'a list containing "encrypt" and "decrypt"');
  }
  if (typeof key.k !== 'string' || decodeBase64(key.k)?.length !== 32) throw invalid('key.k', '32 bytes of URL-safe base64');
  if (typeof file.iv !== 'string' || decodeBase64(file.iv)?.length !== 16) throw invalid('iv', '16 bytes of base64');
  if (!isRecord(file.hashes) || typeof file.hashes.sha256 !== 'string' || decodeBase64(file.hashes.sha256)?.length !== 32) {
    throw invalid('hashes.sha256', '32 bytes of base64 (the SHA-256 of the ciphertext)');
  }
  return {
    url: file.url,
    key: { kty: 'oct', key_ops: [...key.key_ops] as string[], alg: 'A256CTR', k: key.k, ext: key.ext !== false },
    iv: file.iv,
    hashes: { ...(file.hashes as Record<string, string>), sha256: file.hashes.sha256 },
    v: 'v2',
  };
}

// Names what the id is a hash of, so that it can never equal a hash made for another purpose.
const FILE_ID_CONTEXT = new TextEncoder().encode('matrix-media-sw encrypted file id v2\0');

/**
 * What the id of an encrypted file in URLs is the SHA-256 of: its `url`, key, IV and hash
 * together. The id reveals none of them, and two events differ in it unless they name the same
 * bytes with the same key: an event that copies another's hash with another `url` or key gets
 * an id of its own, and cannot take the real file's place in the worker. The page hashes it at
 * once (`encryptedFileId`, src/encryptedFileId.ts), the worker with WebCrypto.
 */
export function fileIdInput(file: EncryptedFile): Uint8Array<ArrayBuffer> {
  const url = new TextEncoder().encode(file.url);
  const parts = [FILE_ID_CONTEXT, url, Uint8Array.of(0), decodeBase64(file.key.k)!, decodeBase64(file.iv)!, decodeBase64(file.hashes.sha256)!];
  const input = new Uint8Array(parts.reduce((total, part) => total + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    input.set(part, offset);
    offset += part.length;
  }
  return input;
}

/** The id, URL-safe, from the SHA-256 of `fileIdInput`. */
export const fileIdOf = (digest: Uint8Array): string => encodeBase64(digest).replace(/\+/g, '-').replace(/\//g, '_');
