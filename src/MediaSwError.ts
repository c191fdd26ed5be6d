/** Stable codes of `MediaSwError`; tests and callers branch on these, never on the prose. */
export type MediaSwErrorCode =
  | 'insecure-context'
  | 'unsupported'
  | 'registration-failed'
  | 'not-controlled'
  | 'no-acknowledgement'
  | 'invalid-options'
  | 'invalid-mxc'
  | 'signed-out'
  | 'bad-message'
  | 'invalid-encrypted-file'
  | 'load-failed';

/** The one error type of the page API. Branch on `code`; `message` says what to do, never a token. */
export class MediaSwError extends Error {
  readonly code: MediaSwErrorCode;

  constructor(code: MediaSwErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'MediaSwError';
    this.code = code;
  }
}
