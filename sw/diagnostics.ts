/// <reference lib="webworker" />
import type { DiagnosticEntry, WorkerToPageMessage } from '../src/protocol.js';
import { withoutAccessToken as reportableUrl } from './upstreamUrl.js';

declare let self: ServiceWorkerGlobalScope;

/**
 * What the worker did per request, reported only to tabs that asked (`onDiagnostic`). Nothing
 * is measured while no tab listens. Subscriptions live in memory: a restarted worker forgets them.
 */

/** Filled in by the handler as it goes; the route turns it into a DiagnosticEntry. */
export interface RequestTrace {
  upstreamUrl: string | null;
  outcome: DiagnosticEntry['outcome'];
  versionsCached: boolean | null;
}

export function newTrace(): RequestTrace {
  return { upstreamUrl: null, outcome: 'passed-through', versionsCached: null };
}


export class Diagnostics {
  private readonly listeners = new Set<string>();

  setListening(clientId: string, enabled: boolean): void {
    if (enabled) this.listeners.add(clientId);
    else this.listeners.delete(clientId);
  }

  get active(): boolean {
    return this.listeners.size > 0;
  }

  /**
   * Reports `response` once its body has been read to the end, counting bytes on the way; the
   * returned response is what the element gets. A body the element abandons is not reported.
   */
  observe(url: string, started: number, trace: RequestTrace, response: Response): Response {
    if (!this.active) return response;
    const base = { url: reportableUrl(url), upstreamUrl: trace.upstreamUrl, outcome: trace.outcome, status: response.status, versionsCached: trace.versionsCached, error: null };
    if (!response.body || response.type === 'opaque') {
      this.send({ ...base, bytes: response.type === 'opaque' ? null : 0, durationMs: Date.now() - started });
      return response;
    }
    let bytes = 0;
    const finish = (): void => this.send({ ...base, bytes, durationMs: Date.now() - started });
    const counted = response.body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          bytes += chunk.byteLength;
          controller.enqueue(chunk);
        },
        flush: finish,
      }),
    );
    return new Response(counted, { status: response.status, statusText: response.statusText, headers: response.headers });
  }

  failed(url: string, started: number, trace: RequestTrace, error: unknown): void {
    if (!this.active) return;
    const reason = error instanceof Error ? `${error.name}: ${error.message}` : 'unknown error';
    this.send({
      url: reportableUrl(url),
      upstreamUrl: trace.upstreamUrl,
      outcome: 'failed',
      status: 0,
      bytes: null,
      durationMs: Date.now() - started,
      versionsCached: trace.versionsCached,
      error: reason,
    });
  }

  private send(entry: DiagnosticEntry): void {
    const message: WorkerToPageMessage = { type: 'mms/diagnostic', entry };
    for (const clientId of this.listeners) {
      void self.clients.get(clientId).then((client) => {
        if (client) client.postMessage(message);
        else this.listeners.delete(clientId);
      });
    }
  }
}
