/// <reference lib="webworker" />
import { asReply, type Reply, type WorkerToPageMessage } from '../../src/protocol.js';

declare let self: ServiceWorkerGlobalScope;

/** What the worker may learn of a client (tab) to decide whether it may use a session. */
export interface ClientInfo {
  url: string;
  frameType: FrameType;
}

/**
 * `clients.get(clientId)`, within `timeoutMs`: Chromium answers it only once a navigation's
 * client exists, so an unbounded wait on it can stall that very navigation.
 */
async function clientWithin(clientId: string, timeoutMs: number): Promise<Client | undefined> {
  if (!clientId) return undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<undefined>((resolve) => void (timer = setTimeout(() => resolve(undefined), timeoutMs)));
  try {
    return (await Promise.race([self.clients.get(clientId), late])) ?? undefined;
  } finally {
    clearTimeout(timer);
  }
}

/** The URL and frame type of client `clientId`, or undefined when it is gone or does not answer in time. */
export async function clientInfo(clientId: string, timeoutMs = 1_000): Promise<ClientInfo | undefined> {
  const client = await clientWithin(clientId, timeoutMs);
  return client ? { url: client.url, frameType: client.frameType } : undefined;
}

/**
 * Sends `message` to the client (tab) `clientId` with a private reply port and waits for its
 * answer; undefined if the client is gone, does not answer within `timeoutMs` (the wait for the
 * client included), or answers nonsense.
 */
export async function askClient(clientId: string, message: WorkerToPageMessage, timeoutMs: number): Promise<Reply | undefined> {
  const started = Date.now();
  const client = await clientWithin(clientId, timeoutMs);
  if (!client) return undefined;
  const channel = new MessageChannel();
  return new Promise<Reply | undefined>((resolve) => {
    const timer = setTimeout(() => finish(undefined), Math.max(0, timeoutMs - (Date.now() - started)));
    function finish(reply: Reply | undefined): void {
      clearTimeout(timer);
      channel.port1.close();
      resolve(reply);
    }
    channel.port1.onmessage = (event) => finish(asReply(event.data));
    client.postMessage(message, [channel.port2]);
  });
}
