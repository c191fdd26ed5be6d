import type { DiagnosticEntry } from '../../src/protocol.js';
import { checkedNow, isFresh } from './freshness.js';
import type { MediaStore } from './mediaStore.js';
import type { StoredFile } from './storedFile.js';
import { recheck, type AskServer } from './recheck.js';

/**
 * May a file stored whole be served, and from where does the element hear otherwise? Fresh: yes,
 * without a request, online or offline. Stale: the server is asked first (recheck.ts); still
 * served means fresh again, removed (403, 404, 410) means every stored byte goes and the element
 * gets the server's answer, no answer means the stored bytes are served anyway (unless the
 * server said `must-revalidate`) and the diagnostics say so.
 */

/** Where a stored file's bytes were served from, as the diagnostics name it. */
export type StoredSource = Extract<DiagnosticEntry['source'], `store-${string}`>;

export type StoredUse =
  | { use: 'serve'; file: StoredFile; source: StoredSource }
  /** What the element gets instead: the server's refusal, or an error. */
  | { use: 'answer'; response: Response }
  /** The stored copy is gone (the server forbids keeping it now): download the file anew. */
  | { use: 'download' };

export interface UseStoredContext {
  store: MediaStore;
  recheckTimeoutMs?: number;
  /** Stale files asked about lately, by store key: until when the answer stands, and how it is reported. */
  asked: Map<string, { until: number; source: StoredSource }>;
}

/**
 * A recheck's answer stands this long for the file (a video asks for many ranges while it plays,
 * and each must not wait for a question of its own): a yes for the ranges of one play, even where
 * the server said `no-cache`; no answer for longer, so that an offline replay is not held up.
 */
export const CONFIRMED_FOR_MS = 10_000;
export const UNREACHABLE_FOR_MS = 30_000;

const notRevalidated = () =>
  new Response(
    JSON.stringify({ errcode: 'MMS_NOT_REVALIDATED', error: 'The homeserver could not be asked whether this stored media may still be shown, and it sent must-revalidate: it is not shown unconfirmed.' }),
    { status: 504, headers: { 'Content-Type': 'application/json', 'X-Content-Type-Options': 'nosniff' } },
  );

export async function useStored(ctx: UseStoredContext, file: StoredFile, ask: AskServer): Promise<StoredUse> {
  const now = Date.now();
  const serve = (source: StoredSource): StoredUse => {
    ctx.store.touch(file.key);
    return { use: 'serve', file: ctx.store.peek(file.key) ?? file, source };
  };
  if (isFresh(file, now, await ctx.store.maxAgeMs(file.sessionId))) return serve('store-fresh');
  const asked = ctx.asked.get(file.key);
  if (asked && asked.until > now && !(asked.source === 'store-stale' && file.mustRevalidate)) return serve(asked.source);

  const answer = await recheck(ask, ctx.recheckTimeoutMs);
  ctx.asked.delete(file.key);
  switch (answer.verdict) {
    case 'served':
      if (!answer.rule.store) {
        await ctx.store.deleteCopy(file.key, file.generation);
        return { use: 'download' };
      }
      ctx.store.renew(file.key, file.generation, checkedNow(answer.rule));
      ctx.asked.set(file.key, { until: Date.now() + CONFIRMED_FOR_MS, source: 'store-rechecked' });
      return serve('store-rechecked');
    case 'removed':
      await ctx.store.deleteCopy(file.key, file.generation);
      return { use: 'answer', response: answer.response };
    case 'refused':
      return { use: 'answer', response: answer.response };
    case 'unreachable':
      if (file.mustRevalidate) return { use: 'answer', response: notRevalidated() };
      ctx.asked.set(file.key, { until: Date.now() + UNREACHABLE_FOR_MS, source: 'store-stale' });
      return serve('store-stale');
  }
}
