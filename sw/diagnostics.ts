/// <reference lib="webworker" />
import type { DiagnosticEntry, DownloadProgress, WorkerToPageMessage } from '../src/protocol.js';
import { withoutAccessToken as reportableUrl } from './routing/upstreamUrl.js';

declare let self: ServiceWorkerGlobalScope;

/**
 * What the worker did per request, reported only to tabs that asked (`onDiagnostic`). Nothing
 * is measured while no tab listens. Subscriptions live in memory: a restarted worker forgets them.
 */

/** Filled in by the handler as it goes; the route turns it into a DiagnosticEntry. */
export interface RequestTrace {
  /**
   * The clients that may be told of this request: the requesting tab, and once a session is
   * found, that session's tabs. Another account's tab never hears of it (its URLs name files).
   */
  audience: readonly string[];
  upstreamUrl: string | null;
  outcome: DiagnosticEntry['outcome'];
  versionsCached: boolean | null;
  source: DiagnosticEntry['source'];
}

export function newTrace(clientId = ''): RequestTrace {
  return { audience: clientId ? [clientId] : [], upstreamUrl: null, outcome: 'passed-through', versionsCached: null, source: null };
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
   * Reports `response` once its body has been read to the end, or abandoned by the element (a
   * video cancels every ranged response once it has enough), counting the bytes delivered; the
   * returned response is what the element gets.
   */
  observe(url: string, started: number, trace: RequestTrace, response: Response): Response {
    if (!this.active) return response;
    const base = { url: reportableUrl(url), upstreamUrl: trace.upstreamUrl, outcome: trace.outcome, status: response.status, versionsCached: trace.versionsCached, source: trace.source, error: null };
    const send = (entry: DiagnosticEntry) => this.post({ type: 'mms/diagnostic', entry }, trace.audience);
    if (!response.body || response.type === 'opaque') {
      send({ ...base, bytes: response.type === 'opaque' ? null : 0, durationMs: Date.now() - started });
      return response;
    }
    let bytes = 0;
    let reported = false;
    const finish = (): void => {
      if (reported) return;
      reported = true;
      send({ ...base, bytes, durationMs: Date.now() - started });
    };
    const reader = response.body.getReader();
    const counted = new ReadableStream<Uint8Array>({
      async pull(controller) {
        const { done, value } = await reader.read();
        if (done) {
          controller.close();
          finish();
          return;
        }
        bytes += value.byteLength;
        controller.enqueue(value);
      },
      cancel(reason) {
        finish();
        return reader.cancel(reason);
      },
    });
    return new Response(counted, { status: response.status, statusText: response.statusText, headers: response.headers });
  }

  failed(url: string, started: number, trace: RequestTrace, error: unknown): void {
    if (!this.active) return;
    const reason = error instanceof Error ? `${error.name}: ${error.message}` : 'unknown error';
    this.post({ type: 'mms/diagnostic', entry: {
      url: reportableUrl(url),
      upstreamUrl: trace.upstreamUrl,
      outcome: 'failed',
      status: 0,
      bytes: null,
      durationMs: Date.now() - started,
      versionsCached: trace.versionsCached,
      source: trace.source,
      error: reason,
    } }, trace.audience);
  }

  /** A download's progress, to the listening tabs of its session (`audience`); the download throttles it. */
  progress(progress: DownloadProgress, audience: readonly string[]): void {
    if (this.active) this.post({ type: 'mms/progress', progress }, audience);
  }

  private post(message: WorkerToPageMessage, audience: readonly string[]): void {
    for (const clientId of this.listeners) {
      if (!audience.includes(clientId)) continue;
      void self.clients.get(clientId).then((client) => {
        if (client) client.postMessage(message);
        else this.listeners.delete(clientId);
      });
    }
  }
}
