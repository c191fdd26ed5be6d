import { checkEncryptedFile, decodeBase64, fileIdInput, fileIdOf, type EncryptedFile } from '../../src/encryptedFile.js';
import type { Reply, WorkerToPageMessage } from '../../src/protocol.js';
import { importAesKey } from './decryptRange.js';
import type { StoredSession } from '../session/sessionStore.js';

/**
 * Which keys the worker holds: the attachment keys pages handed it, in memory only, per session.
 * They are never written to IndexedDB, Cache Storage, a URL, a log or a diagnostic; a worker the
 * browser stopped has none, and asks the session's pages again (as it does for tokens).
 */

export interface AttachmentKey {
  file: EncryptedFile;
  /** The content type to serve the plaintext as (the event's `info.mimetype`), if known. */
  mimetype: string | undefined;
  key: Promise<CryptoKey>;
  iv: Uint8Array;
  /** The SHA-256 the ciphertext must have, as raw bytes. */
  sha256: Uint8Array;
}

export type AskClient = (clientId: string, message: WorkerToPageMessage, timeoutMs: number) => Promise<Reply | undefined>;

// The page posts a key just before it sets the URL, but the browser may deliver the element's
// request to the worker first: a key on its way is waited for this long before the page is asked.
const ARRIVING_MS = 200;
// A page decoding hundreds of images answers late; an unanswered question costs only this wait.
const ASK_TIMEOUT_MS = 5_000;
/**
 * The most keys held at once, over every session: past it the least recently used go, and one
 * needed again is asked of its page, as after a restart. A long session scrolling through years
 * of encrypted rooms must not grow the worker's memory until sign-out.
 */
export const MAX_HELD_KEYS = 10_000;

/** Whether two files give the same id: the same `url`, key, IV and hash (see fileIdInput). */
const sameIdInput = (a: EncryptedFile, b: EncryptedFile) => a.url === b.url && a.key.k === b.key.k && a.iv === b.iv && a.hashes.sha256 === b.hashes.sha256;

export class EncryptionKeys {
  private readonly bySession = new Map<string, Map<string, AttachmentKey>>();
  private readonly arriving = new Map<string, Array<() => void>>();
  /** How many times each session's keys were forgotten: a key whose id was checked across one is dropped. */
  private readonly forgotten = new Map<string, number>();
  /** Every held key's session and file id, least recently used first. */
  private readonly recency = new Map<string, { sessionId: string; fileId: string }>();

  constructor(
    private readonly ask: AskClient,
    private readonly maxKeys = MAX_HELD_KEYS,
  ) {}

  /** How many keys are held, over every session. */
  get size(): number {
    return this.recency.size;
  }

  private used(sessionId: string, fileId: string): void {
    const id = `${sessionId} ${fileId}`;
    this.recency.delete(id);
    this.recency.set(id, { sessionId, fileId });
    for (const [oldest, { sessionId: s, fileId: f }] of this.recency) {
      if (this.recency.size <= this.maxKeys) break;
      this.recency.delete(oldest);
      this.bySession.get(s)?.delete(f);
    }
  }

  /**
   * Keeps `file`'s key for session `sessionId`; false when `fileId` is not the file's own id.
   * The id is checked with WebCrypto's digest, so that the worker carries one SHA-256 library
   * only (hash-wasm, for files hashed as they arrive).
   */
  async add(sessionId: string, fileId: string, file: EncryptedFile, mimetype: string | undefined): Promise<boolean> {
    // Every page load hands its keys over anew: a file already held under this id was checked then.
    const known = this.bySession.get(sessionId)?.get(fileId)?.file;
    if (!(known && sameIdInput(known, file))) {
      const forgotten = this.forgotten.get(sessionId);
      if (fileIdOf(new Uint8Array(await crypto.subtle.digest('SHA-256', fileIdInput(file)))) !== fileId) return false;
      // A session forgotten (signed out) while the id was checked does not get the key back.
      if (this.forgotten.get(sessionId) !== forgotten) return false;
    }
    let files = this.bySession.get(sessionId);
    if (!files) this.bySession.set(sessionId, (files = new Map()));
    if (!files.has(fileId)) {
      files.set(fileId, { file, mimetype, key: importAesKey(decodeBase64(file.key.k)!), iv: decodeBase64(file.iv)!, sha256: decodeBase64(file.hashes.sha256)! });
    }
    this.used(sessionId, fileId);
    const waiting = this.arriving.get(`${sessionId} ${fileId}`);
    this.arriving.delete(`${sessionId} ${fileId}`);
    for (const wake of waiting ?? []) wake();
    return true;
  }

  /** Resolves when the key of `fileId` arrives, or after `ms`. */
  private arrival(sessionId: string, fileId: string, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const id = `${sessionId} ${fileId}`;
      const waiting = this.arriving.get(id) ?? [];
      waiting.push(resolve);
      this.arriving.set(id, waiting);
      setTimeout(() => {
        const still = this.arriving.get(id)?.filter((wake) => wake !== resolve) ?? [];
        if (still.length > 0) this.arriving.set(id, still);
        else this.arriving.delete(id);
        resolve();
      }, ms);
    });
  }

  /** The key of `fileId`, asking the session's pages for it when this worker does not hold it. */
  async find(session: StoredSession, fileId: string): Promise<AttachmentKey | undefined> {
    const held = () => this.bySession.get(session.id)?.get(fileId);
    if (held()) {
      this.used(session.id, fileId);
      return held();
    }
    await this.arrival(session.id, fileId, ARRIVING_MS);
    if (held()) return held();
    for (const clientId of session.clientIds) {
      const reply = await this.ask(clientId, { type: 'mms/key-request', sessionId: session.id, fileId }, ASK_TIMEOUT_MS);
      if (reply?.type !== 'mms/key-reply' || reply.file === null) continue;
      try {
        if (await this.add(session.id, fileId, checkEncryptedFile(reply.file), reply.mimetype ?? undefined)) return held();
      } catch {
        // A page that answers with something else is ignored.
      }
    }
    return undefined;
  }

  /** Forgets every key of a session (sign-out). */
  forget(sessionId: string): void {
    for (const fileId of this.bySession.get(sessionId)?.keys() ?? []) this.recency.delete(`${sessionId} ${fileId}`);
    this.bySession.delete(sessionId);
    this.forgotten.set(sessionId, (this.forgotten.get(sessionId) ?? 0) + 1);
  }
}
