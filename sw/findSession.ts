import { normalizeHomeserverUrl } from '../src/homeserverUrl.js';
import type { MediaRequest } from './classifyMediaUrl.js';
import type { SessionStore, StoredSession } from './sessionStore.js';
import type { AskClient } from './TokenRefresher.js';

// A page that loaded the add-on answers at once; one that did not should not stall its images.
const ASK_TIMEOUT_MS = 1_000;

/**
 * Which session a media request uses: the one named in a `mediaUrl` URL, else the one the
 * requesting tab registered for that homeserver. A tab the worker has never heard of is asked
 * once (its sessions may predate a worker restart that lost storage); a navigation, which has no
 * tab yet, takes the homeserver's most recent session.
 */
export class SessionFinder {
  private readonly asking = new Map<string, Promise<void>>();
  private readonly askedInVain = new Set<string>();

  constructor(
    private readonly sessions: SessionStore,
    private readonly ask: AskClient,
  ) {}

  async find(media: MediaRequest, clientId: string, isNavigation: boolean): Promise<StoredSession | undefined> {
    if (media.kind === 'invalid-local') return undefined;
    if (media.kind === 'local' || media.kind === 'encrypted') return this.sessions.byId(media.sessionId);

    const registered = await this.sessions.forClient(clientId, media.base);
    if (registered) return registered;
    if (clientId && !this.askedInVain.has(clientId) && !(await this.sessions.knowsClient(clientId))) {
      await this.askOnce(clientId);
      const answered = await this.sessions.forClient(clientId, media.base);
      if (answered) return answered;
    }
    return isNavigation ? this.sessions.newestFor(media.base) : undefined;
  }

  /** Forgets that `clientId` had nothing to say: it has just registered. */
  clientRegistered(clientId: string): void {
    this.askedInVain.delete(clientId);
  }

  private askOnce(clientId: string): Promise<void> {
    let pending = this.asking.get(clientId);
    if (!pending) {
      pending = this.askClient(clientId).finally(() => this.asking.delete(clientId));
      this.asking.set(clientId, pending);
    }
    return pending;
  }

  private async askClient(clientId: string): Promise<void> {
    const reply = await this.ask(clientId, { type: 'mms/session-request' }, ASK_TIMEOUT_MS);
    const offered = reply?.type === 'mms/session-reply' ? reply.sessions : [];
    let stored = 0;
    for (const session of offered) {
      if (normalizeHomeserverUrl(session.homeserverUrl) !== session.homeserverUrl) continue;
      if (await this.sessions.put(session, clientId)) stored += 1;
    }
    if (stored === 0) this.askedInVain.add(clientId);
  }
}
