/**
 * One bound on what the worker holds in memory for files, whatever holds it and however many at
 * once: downloads held for their view (a `no-store` file, one over the store's limit, the rest of
 * one the disk had no room for) and encrypted files checked whole in memory. Each of those has
 * a bound of its own (64 MiB, 32 MiB); this one keeps many of them at once from adding up to
 * what ends a worker, or a phone's browser, for want of memory.
 */

/** What the worker may hold in memory for files at once. */
export const WORKER_MEMORY_BYTES = 128 * 1024 * 1024;

export class MemoryBudget {
  private used = 0;
  private readonly byOwner = new Map<string, number>();
  private readonly waiting: Array<{ bytes: number; owner: string; wake: () => void }> = [];

  constructor(readonly limitBytes = WORKER_MEMORY_BYTES) {}

  /** What is taken now: by everyone, or by `owner` (a session). */
  usedBytes(owner?: string): number {
    return owner === undefined ? this.used : (this.byOwner.get(owner) ?? 0);
  }

  /** Takes `bytes` for `owner` now if they fit; false (nothing taken) if not. */
  take(bytes: number, owner = ''): boolean {
    if (this.used + bytes > this.limitBytes) return false;
    this.used += bytes;
    this.byOwner.set(owner, (this.byOwner.get(owner) ?? 0) + bytes);
    return true;
  }

  /**
   * Takes `bytes` once they fit, in the order asked, waiting at most `ms`; false (nothing taken)
   * when they never can or the wait runs out.
   */
  async reserve(bytes: number, ms: number, owner = ''): Promise<boolean> {
    if (bytes > this.limitBytes) return false;
    if (this.waiting.length === 0 && this.take(bytes, owner)) return true;
    return new Promise<boolean>((resolve) => {
      const waiter = {
        bytes,
        owner,
        wake: () => {
          clearTimeout(timer);
          resolve(true);
        },
      };
      const timer = setTimeout(() => {
        this.waiting.splice(this.waiting.indexOf(waiter), 1);
        resolve(false);
        this.wakeWaiting();
      }, ms);
      this.waiting.push(waiter);
    });
  }

  /** Gives back `bytes` taken before for `owner`. */
  give(bytes: number, owner = ''): void {
    this.used = Math.max(0, this.used - bytes);
    const left = (this.byOwner.get(owner) ?? 0) - bytes;
    if (left > 0) this.byOwner.set(owner, left);
    else this.byOwner.delete(owner);
    this.wakeWaiting();
  }

  private wakeWaiting(): void {
    while (this.waiting.length > 0 && this.take(this.waiting[0]!.bytes, this.waiting[0]!.owner)) this.waiting.shift()!.wake();
  }
}
