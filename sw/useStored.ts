import type { DiagnosticEntry } from '../src/protocol.js';
import { isFresh } from './freshness.js';
import type { MediaStore, StoredFile } from './mediaStore.js';
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
  /** Files whose recheck found no server, by store key: until when they are served without asking again. */
  unreachable: Map<string, number>;
}

/**
 * After a recheck that found no server, the file is served without asking again for this long:
 * a video asks for many ranges, and each must not wait out a recheck of its own.
 */
export const UNREACHABLE_RETRY_MS = 30_000;

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
  if ((ctx.unreachable.get(file.key) ?? 0) > now && !file.mustRevalidate) return serve('store-stale');

  const answer = await recheck(ask, ctx.recheckTimeoutMs);
  if (answer.verdict !== 'unreachable') ctx.unreachable.delete(file.key);
  switch (answer.verdict) {
    case 'served':
      if (!answer.rule.store) {
        await ctx.store.deleteCopy(file.key, file.generation);
        return { use: 'download' };
      }
      ctx.store.renew(file.key, file.generation, { checkedAt: Date.now(), freshMs: answer.rule.freshMs, mustRevalidate: answer.rule.mustRevalidate });
      return serve('store-rechecked');
    case 'removed':
      await ctx.store.deleteCopy(file.key, file.generation);
      return { use: 'answer', response: answer.response };
    case 'refused':
      return { use: 'answer', response: answer.response };
    case 'unreachable':
      if (file.mustRevalidate) return { use: 'answer', response: notRevalidated() };
      ctx.unreachable.set(file.key, now + UNREACHABLE_RETRY_MS);
      return serve('store-stale');
  }
}
