/// <reference lib="webworker" />
import { asReply, type Reply, type WorkerToPageMessage } from '../src/protocol.js';

declare let self: ServiceWorkerGlobalScope;

/**
 * Sends `message` to the client (tab) `clientId` with a private reply port and waits for its
 * answer; undefined if the client is gone, does not answer within `timeoutMs`, or answers nonsense.
 */
export async function askClient(clientId: string, message: WorkerToPageMessage, timeoutMs: number): Promise<Reply | undefined> {
  const client = clientId ? await self.clients.get(clientId) : undefined;
  if (!client) return undefined;
  const channel = new MessageChannel();
  return new Promise<Reply | undefined>((resolve) => {
    const timer = setTimeout(() => finish(undefined), timeoutMs);
    function finish(reply: Reply | undefined): void {
      clearTimeout(timer);
      channel.port1.close();
      resolve(reply);
    }
    channel.port1.onmessage = (event) => finish(asReply(event.data));
    client.postMessage(message, [channel.port2]);
  });
}
