/**
 * What a MIME type says, read strictly: exactly one `type/subtype` with optional parameters, as
 * RFC 9110 writes it. Browsers read a Content-Type such as `image/png;a, text/html` as a list and
 * render its last type, so anything that is not exactly one type is refused here, and only the
 * essence goes on (with a text type's charset, without which UTF-8 text would be shown garbled).
 * The page and the worker both compile this file.
 */

export interface MimeType {
  /** `type/subtype`, lower case. */
  essence: string;
  /** The `charset` parameter of a `text/*` type, lower case, if it had one. */
  charset: string | undefined;
}

const TOKEN = "[!#$%&'*+.^_`|~0-9A-Za-z-]+";
const QUOTED = '"(?:[^"\\\\\\x00-\\x08\\x0a-\\x1f\\x7f]|\\\\[\\x09\\x20-\\x7e])*"';
const ESSENCE = new RegExp(`^\\s*(${TOKEN}/${TOKEN})`, 'y');
const PARAMETER = new RegExp(`\\s*;\\s*(${TOKEN})=(${TOKEN}|${QUOTED})`, 'y');

/** `value` as one MIME type, or undefined when it is anything else (a list, a comma, a stray byte, over 255 characters). */
export function parseMimeType(value: string): MimeType | undefined {
  if (typeof value !== 'string' || value.length > 255 || value.includes(',')) return undefined;
  ESSENCE.lastIndex = 0;
  const essence = ESSENCE.exec(value)?.[1]?.toLowerCase();
  if (essence === undefined) return undefined;
  let charset: string | undefined;
  let end = ESSENCE.lastIndex;
  PARAMETER.lastIndex = end;
  for (let match = PARAMETER.exec(value); match; match = PARAMETER.exec(value)) {
    end = PARAMETER.lastIndex;
    if (match[1]!.toLowerCase() === 'charset' && /^[A-Za-z0-9_.:-]+$/.test(match[2]!)) charset = match[2]!.toLowerCase();
  }
  // Whatever the grammar did not take (a stray ";", a space inside the type) makes it no type at all.
  if (value.slice(end).trim() !== '') return undefined;
  return { essence, charset: essence.startsWith('text/') ? charset : undefined };
}

/** The Content-Type to send for `type`: its essence, and a text type's charset. */
export function formatMimeType(type: MimeType): string {
  return type.charset === undefined ? type.essence : `${type.essence}; charset=${type.charset}`;
}
