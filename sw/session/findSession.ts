import { normalizeHomeserverUrl } from '../../src/homeserverUrl.js';
import { LOCAL_MEDIA_SEGMENT } from '../../src/protocol.js';
import type { ClientInfo } from './askClient.js';
import type { MediaRequest } from '../routing/classifyMediaUrl.js';
import type { SessionStore, StoredSession } from './sessionStore.js';
import type { AskClient } from './TokenRefresher.js';

// A page that loaded the add-on answers at once; one that did not should not stall its images.
const ASK_TIMEOUT_MS = 1_000;

/** How a request came: from a client (tab), or as a navigation that has none yet. */
export interface Requester {
  /** The requesting client, or '' for a navigation. */
  clientId: string;
  /** A navigation's kind: a top-level one opens a tab (a new tab, a link followed); a nested one loads a frame. */
  navigation: 'top-level' | 'nested' | undefined;
}

/** A session's `mediaUrl` or encrypted URL asked for by a tab that is not the session's. */
export const FORBIDDEN = 'forbidden';

/**
 * Which session a media request uses: the one named in a `mediaUrl` URL, else the one the
 * requesting tab registered for that homeserver. A tab the worker has never heard of is asked
 * once (its sessions may predate a worker restart that lost storage); a navigation, which has no
 * tab yet, takes the homeserver's most recent session.
 *
 * A session's own URLs serve only its tabs, top-level navigations (a new tab, whose document the
 * media CSP sandboxes into an opaque origin), and the media document such a navigation opened
 * (a video there asks for ranges from its own client): another account's tab of the origin gets
 * FORBIDDEN, not the plaintext of an encrypted file it was shown the URL of.
 */
export class SessionFinder {
  private readonly asking = new Map<string, Promise<void>>();
  private readonly askedInVain = new Set<string>();

  constructor(
    private readonly sessions: SessionStore,
    private readonly ask: AskClient,
    private readonly clientInfo: (clientId: string) => Promise<ClientInfo | undefined> = async () => undefined,
  ) {}

  async find(media: MediaRequest, { clientId, navigation }: Requester): Promise<StoredSession | typeof FORBIDDEN | undefined> {
    if (media.kind === 'invalid-local') return undefined;
    if (media.kind === 'local' || media.kind === 'encrypted') {
      const session = await this.sessions.byId(media.sessionId);
      if (!session || navigation === 'top-level' || session.clientIds.includes(clientId)) return session;
      // A tab this worker lost track of (it restarted without storage) says which sessions it holds.
      if (clientId && (await this.askIfUnknown(clientId))) {
        const answered = await this.sessions.byId(media.sessionId);
        if (answered?.clientIds.includes(clientId)) return answered;
      }
      return (await this.isMediaDocumentOf(clientId, session.id)) ? session : FORBIDDEN;
    }

    const registered = await this.sessions.forClient(clientId, media.base);
    if (registered) return registered;
    if (clientId && (await this.askIfUnknown(clientId))) {
      const answered = await this.sessions.forClient(clientId, media.base);
      if (answered) return answered;
    }
    return navigation ? this.sessions.newestFor(media.base) : undefined;
  }

  /** True when `clientId` is a tab showing a URL of session `sessionId` itself (what a new tab of it made). */
  private async isMediaDocumentOf(clientId: string, sessionId: string): Promise<boolean> {
    const client = await this.clientInfo(clientId);
    if (!client || client.frameType !== 'top-level') return false;
    return new URL(client.url).pathname.includes(`/${LOCAL_MEDIA_SEGMENT}/${sessionId}/`);
  }

  /** Asks `clientId` for its sessions unless it is known or was asked in vain; true when it was asked. */
  private async askIfUnknown(clientId: string): Promise<boolean> {
    if (this.askedInVain.has(clientId) || (await this.sessions.knowsClient(clientId))) return false;
    await this.askOnce(clientId);
    return true;
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
