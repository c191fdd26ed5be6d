import type { MediaSwErrorCode } from './protocol.js';

/** The one error type of the page API. Branch on `code`; `message` says what to do, never a token. */
export class MediaSwError extends Error {
  readonly code: MediaSwErrorCode;

  constructor(code: MediaSwErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'MediaSwError';
    this.code = code;
  }
}
