import type { Reply, WorkerToPageMessage } from '../../src/protocol.js';
import type { SessionStore, StoredSession } from './sessionStore.js';

export type AskClient = (clientId: string, message: WorkerToPageMessage, timeoutMs: number) => Promise<Reply | undefined>;

// The page's refreshAccessToken may call the homeserver's /refresh; give it time.
const REFRESH_TIMEOUT_MS = 15_000;

/**
 * Obtains a new access token from a page that owns the session when the homeserver rejected the
 * old one. However many requests fail at once, each session has one refresh in flight; a
 * request whose token was already replaced just retries with the new one.
 */
export class TokenRefresher {
  private readonly inFlight = new Map<string, Promise<string | null>>();
  // The token a page could not replace, per session: asking again for the same one would only
  // ask the page again for each failing image. A new token (setAccessToken) clears it.
  private readonly unreplaceable = new Map<string, string>();

  constructor(
    private readonly sessions: SessionStore,
    private readonly ask: AskClient,
  ) {}

  /**
   * The token to retry with, or null when no page could provide one.
   * @param session the session whose token was rejected
   * @param rejectedToken the token the failed request carried
   * @param preferredClientId the client that made the request, asked first
   */
  async refresh(session: StoredSession, rejectedToken: string, preferredClientId: string): Promise<string | null> {
    const current = await this.sessions.byId(session.id);
    if (!current) return null;
    if (current.accessToken !== null && current.accessToken !== rejectedToken) return current.accessToken;
    if (this.unreplaceable.get(session.id) === rejectedToken) return null;
    let pending = this.inFlight.get(session.id);
    if (!pending) {
      pending = this.askOwners(current, preferredClientId)
        .then((token) => {
          if (token === null) this.unreplaceable.set(session.id, rejectedToken);
          else this.unreplaceable.delete(session.id);
          return token;
        })
        .finally(() => this.inFlight.delete(session.id));
      this.inFlight.set(session.id, pending);
    }
    return pending;
  }

  private async askOwners(session: StoredSession, preferredClientId: string): Promise<string | null> {
    const owners = session.clientIds.includes(preferredClientId)
      ? [preferredClientId, ...session.clientIds.filter((id) => id !== preferredClientId)]
      : [...session.clientIds].reverse();
    for (const clientId of owners) {
      const reply = await this.ask(clientId, { type: 'mms/refresh-request', sessionId: session.id }, REFRESH_TIMEOUT_MS);
      if (reply?.type !== 'mms/refresh-reply') continue;
      if (reply.accessToken !== null) await this.sessions.setToken(session.id, reply.accessToken);
      return reply.accessToken;
    }
    return null;
  }
}
