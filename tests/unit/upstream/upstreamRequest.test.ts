import { describe, expect, it, vi } from 'vitest';
import { buildUpstreamRequest, fetchWithTimeout } from '../../../sw/upstream/upstreamRequest.js';

const URL_V1 = 'https://hs.example/_matrix/client/v1/media/download/s/abc';

describe('buildUpstreamRequest', () => {
  it('is a fresh CORS GET without cookies, carrying the token', () => {
    const original = new Request('https://hs.example/_matrix/media/v3/download/s/abc', { mode: 'no-cors' });
    const upstream = buildUpstreamRequest(URL_V1, original, 'tok');
    expect(upstream.url).toBe(URL_V1);
    expect(upstream.method).toBe('GET');
    expect(upstream.mode).toBe('cors');
    expect(upstream.credentials).toBe('omit');
    expect(upstream.redirect).toBe('follow');
    expect(upstream.headers.get('Authorization')).toBe('Bearer tok');
  });

  it('copies the range and validators the element sent, and nothing else', () => {
    const original = new Request(URL_V1, {
      headers: { Range: 'bytes=100-', 'If-None-Match': '"1"', 'If-Modified-Since': 'Wed, 21 Oct 2015 07:28:00 GMT', Accept: 'video/*', 'X-Custom': 'no', Cookie: 'c=1' },
    });
    const upstream = buildUpstreamRequest(URL_V1, original, null);
    expect([...upstream.headers].sort()).toEqual([
      ['accept', 'video/*'],
      ['if-modified-since', 'Wed, 21 Oct 2015 07:28:00 GMT'],
      ['if-none-match', '"1"'],
      ['range', 'bytes=100-'],
    ]);
  });

  it('keeps ranged reads out of the HTTP cache, and lets images use it', () => {
    expect(buildUpstreamRequest(URL_V1, new Request(URL_V1, { headers: { Range: 'bytes=0-' } }), 't').cache).toBe('no-store');
    expect(buildUpstreamRequest(URL_V1, new Request(URL_V1), 't').cache).toBe('default');
  });

  it('drops a Range that is not one simple range (it would need a preflight Synapse refuses)', () => {
    const original = new Request(URL_V1, { headers: { Range: 'bytes=0-1,5-6' } });
    expect(buildUpstreamRequest(URL_V1, original, 't').headers.get('Range')).toBeNull();
  });
});

describe('fetchWithTimeout', () => {
  it('gives up on a server that sends no headers in time', async () => {
    const hanging = vi.fn(
      (request: Request) =>
        new Promise<Response>((_resolve, reject) => request.signal.addEventListener('abort', () => reject(request.signal.reason))),
    );
    await expect(fetchWithTimeout(hanging as unknown as typeof fetch, URL_V1, new Request(URL_V1), 't', 20)).rejects.toMatchObject({
      name: 'TimeoutError',
    });
  });

  it('does not limit a body that is already flowing', async () => {
    const ok = vi.fn(async () => new Response('x'));
    const response = await fetchWithTimeout(ok as unknown as typeof fetch, URL_V1, new Request(URL_V1), 't', 20);
    await new Promise((r) => setTimeout(r, 40));
    expect(await response.text()).toBe('x');
  });
});

describe('buildUpstreamRequest and Accept', () => {
  it('drops an Accept that is not CORS-safelisted, such as a navigation\'s', () => {
    const navigationAccept =
      'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7';
    const original = new Request(URL_V1, { headers: { Accept: navigationAccept } });
    expect(buildUpstreamRequest(URL_V1, original, 't').headers.get('Accept')).toBeNull();
    const imageAccept = 'image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8';
    expect(buildUpstreamRequest(URL_V1, new Request(URL_V1, { headers: { Accept: imageAccept } }), 't').headers.get('Accept')).toBe(imageAccept);
    expect(buildUpstreamRequest(URL_V1, new Request(URL_V1, { headers: { Accept: 'a/b; x="y"' } }), 't').headers.get('Accept')).toBeNull();
  });
});
