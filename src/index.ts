export { registerMediaWorker } from './registerMediaWorker.js';
export { DEFAULT_BLOB_CACHE_BYTES, type MediaWorker, type RegisterMediaWorkerOptions } from './mediaWorker.js';
export { MediaSwError, type MediaSwErrorCode } from './MediaSwError.js';
export { buildMediaUrl, type EncryptedMediaOptions, type MediaUrlOptions } from './mediaUrl.js';
export { checkEncryptedFile, type EncryptedFile, type EncryptedFileKey } from './encryptedFile.js';
export { parseMxc, isValidServerName, isValidMediaId, type MxcParts } from './mxc.js';
export { normalizeHomeserverUrl } from './homeserverUrl.js';
export { PROTOCOL_VERSION, type DiagnosticEntry, type DownloadProgress, type StoreUsage, type PageToWorkerMessage, type WorkerToPageMessage, type Reply, type SessionInit } from './protocol.js';
