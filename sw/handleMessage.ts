/// <reference lib="webworker" />
import { normalizeHomeserverUrl } from '../src/homeserverUrl.js';
import { asPageToWorkerMessage, PROTOCOL_VERSION, type Reply } from '../src/protocol.js';
import type { MediaWorkerState } from './createMediaRoute.js';
import { clearStore, forgetMedia, storeUsage } from './sessionMedia.js';

declare let self: ServiceWorkerGlobalScope;

function reply(port: MessagePort | undefined, message: Reply): void {
  port?.postMessage(message);
}

/**
 * True when session `id` was registered by another page that is still open. A reload is a new
 * page whose previous one is gone by then; a window opened with `window.open` or "Duplicate tab"
 * copies sessionStorage, and with it the opener's session id and key, while the opener lives on.
 */
async function heldByAnotherPage(state: MediaWorkerState, id: string, clientId: string): Promise<boolean> {
  const others = ((await state.sessions.byId(id))?.clientIds ?? []).filter((other) => other !== clientId);
  const live = await Promise.all(others.map((other) => self.clients.get(other)));
  return live.some((client) => client !== undefined);
}

/**
 * Applies one page message to the worker's sessions and answers on the message's port.
 * Anything not from a client (tab) of this origin, or not of the protocol's shape, is ignored.
 */
export async function handleMessage(state: MediaWorkerState, event: ExtendableMessageEvent): Promise<void> {
  const source = event.source;
  if (!source || !('id' in source) || !('postMessage' in source) || source instanceof ServiceWorker) return;
  const message = asPageToWorkerMessage(event.data);
  if (!message) return;
  const port = event.ports[0];
  const ack: Reply = { type: 'mms/ack', version: PROTOCOL_VERSION };

  switch (message.type) {
    case 'mms/claim':
      // A hard reload leaves the page uncontrolled, and another worker at this scope may still
      // control it: claiming makes its next requests ours.
      await self.clients.claim();
      reply(port, ack);
      return;
    case 'mms/ping':
      reply(port, ack);
      return;
    case 'mms/skip-waiting':
      // Only a page whose controller does not speak this protocol asks (registerMediaWorker).
      await self.skipWaiting();
      reply(port, ack);
      return;
    case 'mms/session': {
      const { session } = message;
      if (normalizeHomeserverUrl(session.homeserverUrl) !== session.homeserverUrl) {
        reply(port, { type: 'mms/error', code: 'bad-message', message: 'homeserverUrl must be a normalised http(s) base URL.' });
        return;
      }
      if (await heldByAnotherPage(state, session.id, source.id)) {
        reply(port, { type: 'mms/error', code: 'bad-message', message: 'That session id is held by another open page (this one inherited its sessionStorage); register with a session of its own.' });
        return;
      }
      if (!(await state.sessions.put(session, source.id, { provisional: message.provisional === true }))) {
        reply(port, { type: 'mms/error', code: 'bad-message', message: 'That session id belongs to another tab, or was registered for another homeserver (another homeserver is another session).' });
        return;
      }
      state.finder.clientRegistered(source.id);
      if (message.storeBytes !== undefined) await state.store.setLimit(session.id, message.storeBytes);
      if (message.storeMaxAgeMs !== undefined) await state.store.setMaxAge(session.id, message.storeMaxAgeMs);
      reply(port, ack);
      const live = await self.clients.matchAll({ includeUncontrolled: true, type: 'all' });
      for (const sessionId of await state.sessions.prune(live.map((client) => client.id))) await forgetMedia(state, sessionId);
      return;
    }
    case 'mms/keys': {
      // Only the tab holding the session's key may hand it attachment keys.
      if (await state.sessions.holdsKey(message.sessionId, message.key)) {
        await Promise.all(message.files.map(({ fileId, file, mimetype }) => state.keys.add(message.sessionId, fileId, file, mimetype ?? undefined)));
      }
      reply(port, ack);
      return;
    }
    case 'mms/store-usage':
    case 'mms/clear-store': {
      // Only the tab holding the session's key: another tab of the origin sees its id in URLs.
      if (!(await state.sessions.holdsKey(message.sessionId, message.key))) {
        reply(port, { type: 'mms/error', code: 'signed-out', message: 'No session of that id and key is held here (it signed out).' });
        return;
      }
      if (message.type === 'mms/store-usage') reply(port, { type: 'mms/store-usage-reply', usage: await storeUsage(state, message.sessionId) });
      else {
        await clearStore(state, message.sessionId);
        reply(port, ack);
      }
      return;
    }
    case 'mms/diagnostics':
      state.diagnostics.setListening(source.id, message.enabled);
      reply(port, ack);
      return;
    case 'mms/confirm':
      if (await state.sessions.confirm(message.sessionId, message.key)) reply(port, ack);
      else reply(port, { type: 'mms/error', code: 'bad-message', message: 'No session of that id and key waits for confirmation here.' });
      return;
    case 'mms/sign-out':
      if (await state.sessions.remove(message.sessionId, message.key)) await forgetMedia(state, message.sessionId);
      reply(port, ack);
      return;
    default: {
      const unreachable: never = message;
      return unreachable;
    }
  }
}
