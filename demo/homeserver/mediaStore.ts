import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MatrixError } from './http.js';

/** The content repository: media by ID, in memory or in a folder, with async uploads (MSC2246). */

export interface StoredMedia {
  mediaId: string;
  mxc: string;
  contentType: string;
  fileName: string | undefined;
  data: Buffer;
  /** Uploaded after the freeze: only the authenticated endpoints serve it. */
  frozen: boolean;
  uploadedBy: string;
}

interface PendingMedia {
  mediaId: string;
  createdBy: string;
  expiresAt: number;
  waiters: Array<() => void>;
}

// Synapse's media IDs: 24 ASCII letters.
function newMediaId(): string {
  const letters = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
  return Array.from(randomBytes(24), (byte) => letters[byte % letters.length]).join('');
}

const UNUSED_MEDIA_LIFETIME_MS = 24 * 60 * 60 * 1000;

export class MediaStore {
  private readonly media = new Map<string, StoredMedia>();
  private readonly pending = new Map<string, PendingMedia>();
  /** Media a moderator removed, with the status downloads get now (404 deleted or quarantined, 403, 410). */
  private readonly withheld = new Map<string, 403 | 404 | 410>();

  constructor(
    readonly serverName: string,
    /** When set, media is also written here and read back at start. */
    private readonly folder?: string,
  ) {
    if (folder) {
      mkdirSync(folder, { recursive: true });
      for (const name of readdirSync(folder).filter((n) => n.endsWith('.json'))) {
        const meta = JSON.parse(readFileSync(join(folder, name), 'utf8')) as Omit<StoredMedia, 'data'>;
        this.media.set(meta.mediaId, { ...meta, data: readFileSync(join(folder, `${meta.mediaId}.bin`)) });
      }
    }
  }

  /** Stores finished media and returns its mxc URI. */
  add(data: Buffer, contentType: string, fileName: string | undefined, uploadedBy: string, frozen: boolean, mediaId = newMediaId()): StoredMedia {
    const item: StoredMedia = { mediaId, mxc: `mxc://${this.serverName}/${mediaId}`, contentType, fileName, data, frozen, uploadedBy };
    this.media.set(mediaId, item);
    if (this.folder) {
      writeFileSync(join(this.folder, `${mediaId}.bin`), data);
      const { data: _data, ...meta } = item;
      writeFileSync(join(this.folder, `${mediaId}.json`), JSON.stringify(meta));
    }
    for (const wake of this.pending.get(mediaId)?.waiters ?? []) wake();
    this.pending.delete(mediaId);
    return item;
  }

  /** `POST /_matrix/media/v1/create`: reserves an ID for a later upload. */
  create(userId: string): { content_uri: string; unused_expires_at: number } {
    const mediaId = newMediaId();
    const expiresAt = Date.now() + UNUSED_MEDIA_LIFETIME_MS;
    this.pending.set(mediaId, { mediaId, createdBy: userId, expiresAt, waiters: [] });
    return { content_uri: `mxc://${this.serverName}/${mediaId}`, unused_expires_at: expiresAt };
  }

  /** `PUT /_matrix/media/v3/upload/{serverName}/{mediaId}`: fills a reserved ID, once, by its creator. */
  fill(mediaId: string, userId: string, data: Buffer, contentType: string, fileName: string | undefined, frozen: boolean): void {
    if (this.media.has(mediaId)) throw new MatrixError(409, 'M_CANNOT_OVERWRITE_MEDIA', 'Media ID already has content');
    const reservation = this.pending.get(mediaId);
    if (!reservation) throw new MatrixError(404, 'M_NOT_FOUND', 'Unknown media ID');
    if (reservation.createdBy !== userId) throw new MatrixError(403, 'M_FORBIDDEN', 'You may not upload to this media ID');
    this.add(data, contentType, fileName, userId, frozen, mediaId);
  }

  /**
   * The media with `mediaId`, waiting up to `timeoutMs` for a reserved one to be uploaded
   * (504 M_NOT_YET_UPLOADED after that); undefined when the ID is unknown.
   */
  async get(mediaId: string, timeoutMs: number): Promise<StoredMedia | undefined> {
    const item = this.media.get(mediaId);
    if (item) return item;
    const reservation = this.pending.get(mediaId);
    if (!reservation) return undefined;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      reservation.waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    const uploaded = this.media.get(mediaId);
    if (!uploaded) throw new MatrixError(504, 'M_NOT_YET_UPLOADED', 'Media has not been uploaded yet');
    return uploaded;
  }

  /** Makes downloads of `mediaId` answer `status` from now on, as Synapse's quarantine or deletion does (404). */
  withhold(mediaId: string, status: 403 | 404 | 410 = 404): void {
    this.withheld.set(mediaId, status);
  }

  /** What a download of `mediaId` answers instead of its bytes, if it was removed. */
  removal(mediaId: string): MatrixError | undefined {
    const status = this.withheld.get(mediaId);
    if (status === undefined) return undefined;
    return status === 403 ? new MatrixError(403, 'M_FORBIDDEN', 'You may not see this media') : new MatrixError(status, 'M_NOT_FOUND', 'Not found');
  }

  list(): StoredMedia[] {
    return [...this.media.values()];
  }
}
