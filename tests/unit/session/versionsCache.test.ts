import { describe, expect, it, vi } from 'vitest';
import { advertisesAuthenticatedMedia, VersionsCache, VERSIONS_TIMEOUT_MS } from '../../../sw/session/versionsCache.js';

describe('advertisesAuthenticatedMedia', () => {
  it.each([
    [{ versions: ['v1.11'] }, true],
    [{ versions: ['r0.6.1', 'v1.1', 'v1.12'] }, true],
    [{ versions: ['v1.20'] }, true],
    [{ versions: ['v2.0'] }, true],
    [{ versions: ['v1.10'] }, false],
    [{ versions: ['v1.1', 'v1.9'] }, false],
    [{ versions: ['v1.10'], unstable_features: { 'org.matrix.msc3916.stable': true } }, true],
    [{ versions: ['v1.10'], unstable_features: { 'org.matrix.msc3916.stable': false } }, false],
    [{ versions: ['v1.10'], unstable_features: { 'org.matrix.msc3916': true } }, false],
    [{ versions: ['v1.11-beta', 'v1.1x'] }, false],
    [{ versions: 'v1.11' }, false],
    [null, false],
    ['v1.11', false],
  ])('%j → %s', (body, expected) => expect(advertisesAuthenticatedMedia(body)).toBe(expected));
});

function versionsResponse(versions: string[]): Response {
  return new Response(JSON.stringify({ versions }), { headers: { 'Content-Type': 'application/json' } });
}

describe('VersionsCache', () => {
  it('asks each homeserver once however many requests wait', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const fetchFn = vi.fn(async () => {
      await gate;
      return versionsResponse(['v1.11']);
    });
    const cache = new VersionsCache(fetchFn);
    const answers = Promise.all(Array.from({ length: 50 }, () => cache.supportsAuthenticatedMedia('https://hs.example')));
    release();
    expect(await answers).toEqual(Array(50).fill(true));
    expect(await cache.supportsAuthenticatedMedia('https://hs.example')).toBe(true);
    expect(fetchFn).toHaveBeenCalledTimes(1);
    expect(fetchFn).toHaveBeenCalledWith('https://hs.example/_matrix/client/versions', { mode: 'cors', credentials: 'omit', cache: 'no-store' });
  });

  it('never sends a token to /versions', async () => {
    const fetchFn = vi.fn(async (_input: RequestInfo | URL, _init?: RequestInit) => versionsResponse(['v1.11']));
    await new VersionsCache(fetchFn).supportsAuthenticatedMedia('https://hs.example');
    const init = fetchFn.mock.calls[0]?.[1];
    expect(JSON.stringify(init)).not.toMatch(/authorization/i);
  });

  it('keeps homeservers apart, path prefix included', async () => {
    const fetchFn = vi.fn(async (input: RequestInfo | URL) =>
      versionsResponse(String(input).startsWith('https://hs.example/new') ? ['v1.11'] : ['v1.10']),
    );
    const cache = new VersionsCache(fetchFn);
    expect(await cache.supportsAuthenticatedMedia('https://hs.example/new')).toBe(true);
    expect(await cache.supportsAuthenticatedMedia('https://hs.example')).toBe(false);
  });

  it('does not remember a failure', async () => {
    const fetchFn = vi
      .fn<typeof fetch>()
      .mockRejectedValueOnce(new TypeError('network down'))
      .mockResolvedValueOnce(new Response('oops', { status: 502 }))
      .mockResolvedValueOnce(new Response('not json', { status: 200 }))
      .mockResolvedValueOnce(versionsResponse(['v1.11']));
    const cache = new VersionsCache(fetchFn);
    expect(await cache.supportsAuthenticatedMedia('https://hs.example')).toBeUndefined();
    expect(await cache.supportsAuthenticatedMedia('https://hs.example')).toBeUndefined();
    expect(await cache.supportsAuthenticatedMedia('https://hs.example')).toBeUndefined();
    expect(await cache.supportsAuthenticatedMedia('https://hs.example')).toBe(true);
    expect(fetchFn).toHaveBeenCalledTimes(4);
  });

  it('asks again once a success has aged out', async () => {
    let now = 0;
    const fetchFn = vi.fn(async () => versionsResponse(['v1.11']));
    const cache = new VersionsCache(fetchFn, () => now);
    await cache.supportsAuthenticatedMedia('https://hs.example');
    now = 59 * 60 * 1000;
    await cache.supportsAuthenticatedMedia('https://hs.example');
    expect(fetchFn).toHaveBeenCalledTimes(1);
    now = 61 * 60 * 1000;
    await cache.supportsAuthenticatedMedia('https://hs.example');
    expect(fetchFn).toHaveBeenCalledTimes(2);
  });

  it('a /versions that never answers, or whose body stalls, is given up after its bound and asked again next time', async () => {
    vi.useFakeTimers();
    try {
      const stalled = new Response(new ReadableStream({ start: (c) => c.enqueue(new TextEncoder().encode('{"vers')) }), { headers: { 'Content-Type': 'application/json' } });
      const fetchFn = vi.fn<typeof fetch>().mockReturnValueOnce(new Promise(() => undefined)).mockResolvedValueOnce(stalled);
      const cache = new VersionsCache(fetchFn);
      for (const attempt of [1, 2]) {
        const answer = cache.supportsAuthenticatedMedia('https://hs.example');
        await vi.advanceTimersByTimeAsync(VERSIONS_TIMEOUT_MS);
        expect(await answer).toBeUndefined();
        expect(fetchFn).toHaveBeenCalledTimes(attempt);
      }
    } finally {
      vi.useRealTimers();
    }
  });
});
