import { BlobMediaLoader } from './blobFallback.js';
import { checkEncryptedFile } from './encryptedFile.js';
import { MediaSwError } from './MediaSwError.js';
import { checkEncryptedMediaOptions } from './mediaUrl.js';
import type { MediaWorker, RegisterMediaWorkerOptions } from './mediaWorker.js';

/** The handle `registerMediaWorker` returns in blob mode (`fallback: 'blob'`), where no worker can run. */
export function blobModeHandle(options: RegisterMediaWorkerOptions, homeserverUrl: string, reason: string): MediaWorker {
  const loader = new BlobMediaLoader({
    homeserverUrl,
    accessToken: options.accessToken,
    refreshAccessToken: options.refreshAccessToken,
    maxBytes: options.blobCacheBytes,
  });
  return {
    mode: 'blob',
    fallbackReason: reason,
    registration: null,
    sessionId: '',
    async setAccessToken(accessToken) {
      loader.setAccessToken(accessToken);
    },
    async signOut() {
      loader.setAccessToken(null);
      loader.clear();
    },
    mediaUrl() {
      throw new MediaSwError('unsupported', 'In blob mode no URL works by itself (there is no worker to add the token): use loadMedia().');
    },
    encryptedMediaUrl() {
      throw new MediaSwError('unsupported', 'In blob mode no URL works by itself (there is no worker to decrypt): use loadMedia().');
    },
    loadMedia: (source, mediaOptions) =>
      typeof source === 'string' ? loader.load(source, mediaOptions) : loader.loadEncrypted(checkEncryptedFile(source), checkEncryptedMediaOptions(mediaOptions)),
    releaseMedia: (url) => loader.release(url),
    async storeUsage() {
      return loader.usage();
    },
    async clearStore() {
      loader.clear();
    },
    async onDiagnostic(callback) {
      return loader.onDiagnostic(callback);
    },
    // The page loads whole files itself in blob mode; nothing reports their progress.
    async onProgress() {
      return () => undefined;
    },
  };
}
