import type { LoggedRequest } from '../../demo/homeserver/server.js';

/** The leak audit shared by every engine's reliability run: where a token must never appear. */

const LEGACY_MEDIA = /^(?:\/[^/]+)*\/_matrix\/media\/(?:r0|v1|v3)\/(?:download|thumbnail|config|preview_url)\//;

/** Why a logged request is a leak, or undefined when it is fine. */
export function leakIn(entry: LoggedRequest, server: 'homeserver' | 'attacker'): string | undefined {
  if (entry.authorization === null && !/[?&]access_token=/.test(entry.path)) return undefined;
  if (server === 'attacker') return `a token reached another server: ${entry.method} ${entry.path}`;
  if (entry.origin === 'cdn') return `a token followed a redirect to another origin: ${entry.path}`;
  if (entry.path.startsWith('/_matrix/client/versions')) return 'a token was sent to /versions';
  if (LEGACY_MEDIA.test(entry.path)) return `a token was sent to a legacy unauthenticated endpoint: ${entry.path}`;
  if (/[?&]access_token=/.test(entry.path) && entry.authorization !== null) return 'a token went both as header and in the query';
  return undefined;
}
