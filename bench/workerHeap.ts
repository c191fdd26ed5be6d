import type { Browser } from '@playwright/test';

export interface HeapUsage {
  usedSize: number;
  backingStorageSize?: number;
}

/**
 * A way to call the worker's own DevTools domains (its heap, a garbage collection) through
 * Chromium's browser-level protocol: Playwright offers no session on a service worker target.
 */
export async function workerTarget(browser: Browser): Promise<(method: string) => Promise<HeapUsage>> {
  const cdp = await browser.newBrowserCDPSession();
  const { targetInfos } = (await cdp.send('Target.getTargets')) as { targetInfos: Array<{ targetId: string; type: string; url: string }> };
  const target = targetInfos.find((t) => t.type === 'service_worker' && t.url.endsWith('/matrix-media-sw.js'));
  if (!target) throw new Error('no service worker target to measure');
  const { sessionId } = (await cdp.send('Target.attachToTarget', { targetId: target.targetId, flatten: false })) as { sessionId: string };
  let nextId = 1;
  const pending = new Map<number, (value: HeapUsage) => void>();
  cdp.on('Target.receivedMessageFromTarget', (event: { message: string }) => {
    const message = JSON.parse(event.message) as { id?: number; result?: HeapUsage };
    if (message.id !== undefined) pending.get(message.id)?.(message.result!);
  });
  return (method) =>
    new Promise<HeapUsage>((resolve) => {
      const id = nextId++;
      pending.set(id, resolve);
      void cdp.send('Target.sendMessageToTarget', { sessionId, message: JSON.stringify({ id, method }) });
    });
}
