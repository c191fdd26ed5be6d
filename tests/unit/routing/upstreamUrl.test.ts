import { describe, expect, it } from 'vitest';
import { classifyMediaUrl, type HomeserverMediaRequest } from '../../../sw/routing/classifyMediaUrl.js';
import { authenticatedUrl, legacyUrl } from '../../../sw/routing/upstreamUrl.js';

function target(url: string): HomeserverMediaRequest {
  const media = classifyMediaUrl(new URL(url), 'https://app.example/');
  if (media?.kind !== 'homeserver') throw new Error(`not homeserver media: ${url}`);
  return media;
}
const rewrite = (url: string) => {
  const media = target(url);
  return authenticatedUrl(media.base, media);
};

describe('authenticatedUrl', () => {
  it.each([
    ['/_matrix/media/v3/download/s/abc', '/_matrix/client/v1/media/download/s/abc'],
    ['/_matrix/media/r0/download/s/abc', '/_matrix/client/v1/media/download/s/abc'],
    ['/_matrix/media/v1/download/s/abc/a%20b.png', '/_matrix/client/v1/media/download/s/abc/a%20b.png'],
    ['/_matrix/media/v3/thumbnail/s/abc?width=32&height=32&method=crop', '/_matrix/client/v1/media/thumbnail/s/abc?width=32&height=32&method=crop'],
    ['/_matrix/media/v3/config', '/_matrix/client/v1/media/config'],
    ['/_matrix/media/v3/preview_url?url=https%3A%2F%2Fx.example%2F', '/_matrix/client/v1/media/preview_url?url=https%3A%2F%2Fx.example%2F'],
    ['/_matrix/client/v1/media/download/s/abc', '/_matrix/client/v1/media/download/s/abc'],
    ['/_matrix/client/unstable/org.matrix.msc3916/media/download/s/abc', '/_matrix/client/unstable/org.matrix.msc3916/media/download/s/abc'],
    ['/_matrix/media/v3/download/[::1]:8448/abc', '/_matrix/client/v1/media/download/[::1]:8448/abc'],
  ])('%s → %s', (path, expected) => {
    expect(rewrite(`https://hs.example${path}`)).toBe(`https://hs.example${expected}`);
  });

  it('keeps the base URL prefix', () => {
    expect(rewrite('https://hs.example/matrix/_matrix/media/v3/download/s/abc')).toBe('https://hs.example/matrix/_matrix/client/v1/media/download/s/abc');
  });

  it('removes every access_token and the legacy-only parameters', () => {
    expect(
      rewrite('https://hs.example/_matrix/media/v3/thumbnail/s/abc?access_token=a&width=8&access_token=b&height=8&allow_remote=false&allow_redirect=true&animated=true'),
    ).toBe('https://hs.example/_matrix/client/v1/media/thumbnail/s/abc?width=8&height=8&animated=true');
    expect(rewrite('https://hs.example/_matrix/client/v1/media/download/s/abc?access_token=x')).toBe(
      'https://hs.example/_matrix/client/v1/media/download/s/abc',
    );
  });

  it('keeps timeout_ms and unknown parameters', () => {
    expect(rewrite('https://hs.example/_matrix/media/v3/download/s/abc?timeout_ms=5000&x=1')).toBe(
      'https://hs.example/_matrix/client/v1/media/download/s/abc?timeout_ms=5000&x=1',
    );
  });
});

describe('legacyUrl', () => {
  it('maps v1 back to v3 without any token', () => {
    const media = target('https://hs.example/p/_matrix/client/v1/media/thumbnail/s/abc?width=8&height=8&access_token=x');
    expect(legacyUrl(media.base, media)).toBe('https://hs.example/p/_matrix/media/v3/thumbnail/s/abc?width=8&height=8');
  });
});
