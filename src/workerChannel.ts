import type { EncryptedFile } from './encryptedFile.js';
import { MediaSwError } from './MediaSwError.js';
import {
  asReply,
  asWorkerToPageMessage,
  PROTOCOL_VERSION,
  type AttachmentKeyEntry,
  type AttachmentKeysMessage,
  type DiagnosticEntry,
  type DownloadProgress,
  type PageToWorkerMessage,
  type Reply,
  type SessionInit,
} from './protocol.js';

/**
 * The page's end of the protocol: requests to the worker with a deadline, and one listener per
 * page that answers the worker for every session the page holds.
 */

export interface PageSession {
  session: SessionInit;
  refresh: (() => Promise<string | null>) | undefined;
  /** False until registerMediaWorker has handed out the handle; the worker is told only then to keep it. */
  confirmed: boolean;
}

export const pageSessions = new Map<string, PageSession>();
/**
 * The attachment keys this page handed out URLs for, by session and file id, so that a worker
 * the browser restarted can ask for them again. Kept in memory only, like the app's own.
 */
export const pageKeys = new Map<string, { file: EncryptedFile; mimetype: string | null }>();
export const pageKeyId = (sessionId: string, fileId: string) => `${sessionId} ${fileId}`;
export const diagnosticListeners = new Set<(entry: DiagnosticEntry) => void>();
export const progressListeners = new Set<(progress: DownloadProgress) => void>();
let listening = false;
let warnedAboutVersion = false;

async function answerWorker(event: MessageEvent): Promise<void> {
  const message = asWorkerToPageMessage(event.data);
  if (message?.type === 'mms/diagnostic') {
    for (const listener of diagnosticListeners) listener(message.entry);
    return;
  }
  if (message?.type === 'mms/progress') {
    for (const listener of progressListeners) listener(message.progress);
    return;
  }
  const port = event.ports[0];
  if (!message || !port) return;
  switch (message.type) {
    case 'mms/session-request': {
      // Only sessions the app holds a handle for: a registration still under way sends its own.
      const sessions = [...pageSessions.values()].filter((s) => s.confirmed).map((s) => s.session);
      port.postMessage({ type: 'mms/session-reply', sessions } satisfies Reply);
      return;
    }
    case 'mms/key-request': {
      const held = pageSessions.has(message.sessionId) ? pageKeys.get(pageKeyId(message.sessionId, message.fileId)) : undefined;
      port.postMessage({ type: 'mms/key-reply', file: held?.file ?? null, mimetype: held?.mimetype ?? null } satisfies Reply);
      return;
    }
    case 'mms/refresh-request': {
      const owner = pageSessions.get(message.sessionId);
      let accessToken: string | null = null;
      try {
        accessToken = owner?.refresh ? await owner.refresh() : null;
      } catch {
        // The app's refresh failed; the element gets the homeserver's 401.
      }
      if (typeof accessToken !== 'string' || accessToken.length === 0) accessToken = null;
      if (owner && accessToken !== null && pageSessions.get(message.sessionId) === owner) owner.session.accessToken = accessToken;
      port.postMessage({ type: 'mms/refresh-reply', accessToken } satisfies Reply);
      return;
    }
    default: {
      const unreachable: never = message;
      return unreachable;
    }
  }
}

export function listenToWorker(container: ServiceWorkerContainer): void {
  if (listening) return;
  listening = true;
  container.addEventListener('message', (event) => void answerWorker(event));
  // After an update the new worker controls the page; tell it about every session here.
  container.addEventListener('controllerchange', () => {
    const controller = container.controller;
    if (!controller) return;
    for (const { session, confirmed } of pageSessions.values()) {
      if (confirmed) void send(controller, { type: 'mms/session', session }, DEFAULT_TIMEOUT_MS).catch(() => undefined);
    }
    if (diagnosticListeners.size + progressListeners.size > 0) {
      void send(controller, { type: 'mms/diagnostics', enabled: true }, DEFAULT_TIMEOUT_MS).catch(() => undefined);
    }
  });
  // Messages a worker sent before this listener existed are held until startMessages().
  container.startMessages();
}

export const DEFAULT_TIMEOUT_MS = 10_000;

/** Keys handed out during this task, by session, and where they go. */
const outgoingKeys = new Map<string, { worker: () => ServiceWorker; message: AttachmentKeysMessage }>();

function sendKeys(): void {
  const batches = [...outgoingKeys.values()];
  outgoingKeys.clear();
  for (const { worker, message } of batches) {
    try {
      worker().postMessage(message);
    } catch {
      // A worker gone meanwhile: its successor asks this page for each key it meets (pageKeys).
    }
  }
}

/**
 * Sends `entry` to the worker with the other keys handed out in this task: a timeline rendering
 * hundreds of encrypted images posts one message. It leaves at the end of the task, before the
 * elements given the URLs start loading (they do so in a later microtask); a request that
 * arrives first anyway waits a moment for the key, then asks the page (see sw/encryptionKeys).
 */
export function sendKey(worker: () => ServiceWorker, sessionId: string, key: string, entry: AttachmentKeyEntry): void {
  const batchId = `${sessionId} ${key}`;
  let batch = outgoingKeys.get(batchId);
  if (!batch) {
    if (outgoingKeys.size === 0) queueMicrotask(sendKeys);
    batch = { worker, message: { type: 'mms/keys', sessionId, key, files: [] } };
    outgoingKeys.set(batchId, batch);
  }
  batch.message.files.push(entry);
}

/** Posts `message` to `worker` and waits for its acknowledgement on a private port. */
export async function send(worker: ServiceWorker, message: PageToWorkerMessage, timeoutMs: number): Promise<void> {
  const reply = await request(worker, message, timeoutMs);
  if (reply.type !== 'mms/ack') throw new MediaSwError('no-acknowledgement', 'The media worker answered with an unknown message.');
}

/** Posts `message` to `worker` and resolves with its reply (an acknowledgement or an answer); rejects on an error reply. */
export function request(worker: ServiceWorker, message: PageToWorkerMessage, timeoutMs: number): Promise<Exclude<Reply, { type: 'mms/error' }>> {
  const channel = new MessageChannel();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      channel.port1.close();
      reject(
        new MediaSwError(
          'no-acknowledgement',
          `The media worker did not answer within ${timeoutMs} ms. Check that the script URL serves dist/matrix-media-sw.js.`,
        ),
      );
    }, timeoutMs);
    channel.port1.onmessage = (event) => {
      clearTimeout(timer);
      channel.port1.close();
      const reply = asReply(event.data);
      if (reply?.type === 'mms/ack' && reply.version !== PROTOCOL_VERSION && !warnedAboutVersion) {
        warnedAboutVersion = true;
        console.warn(
          `matrix-media-sw: the worker is version ${reply.version} but the page expects ${PROTOCOL_VERSION}; serve the worker script from the same package version.`,
        );
      }
      if (reply?.type === 'mms/error') reject(new MediaSwError(reply.code, reply.message));
      else if (reply) resolve(reply);
      else reject(new MediaSwError('no-acknowledgement', 'The media worker answered with an unknown message.'));
    };
    worker.postMessage(message, [channel.port2]);
  });
}

/** True when `worker` answers the protocol within `timeoutMs`; another script's worker never does. */
export function speaksProtocol(worker: ServiceWorker, timeoutMs: number): Promise<boolean> {
  return send(worker, { type: 'mms/ping' }, timeoutMs).then(
    () => true,
    () => false,
  );
}
