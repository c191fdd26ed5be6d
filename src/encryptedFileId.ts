import { sha256 } from '@noble/hashes/sha2.js';
import { fileIdInput, fileIdOf, type EncryptedFile } from './encryptedFile.js';

/**
 * The id of an encrypted file in URLs (see fileIdInput), at once: `encryptedMediaUrl` returns
 * its URL synchronously, and WebCrypto's digest is asynchronous, so the page hashes with
 * @noble/hashes. It is a module of its own, loaded while the worker registers, so that the
 * page module a client bundles stays small (docs/performance.md, "Sizes").
 */
export const encryptedFileId = (file: EncryptedFile): string => fileIdOf(sha256(fileIdInput(file)));
