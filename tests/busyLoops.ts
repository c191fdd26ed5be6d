import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

/**
 * Keeps `count` cores busy (default: every core) until the returned function is called: a machine
 * doing other work (a build, another suite, a phone's other apps). Races that a quiet machine
 * hides show under load; the loops run at the tests' own priority.
 */
export function startBusyLoops(count = availableParallelism()): () => Promise<void> {
  const loops = Array.from({ length: count }, () => new Worker('for (;;) {}', { eval: true }));
  return async () => {
    await Promise.all(loops.map((loop) => loop.terminate()));
  };
}
