import { describe, expect, it } from 'vitest';
import { classifyMediaUrl } from '../../../sw/routing/classifyMediaUrl.js';

const SCOPE = 'https://app.example/';
const classify = (url: string, scope = SCOPE) => classifyMediaUrl(new URL(url), scope);

describe('classifyMediaUrl: homeserver media paths', () => {
  it.each([
    ['legacy v3 download', 'https://hs.example/_matrix/media/v3/download/hs.example/abc', 'legacy', 'download', '/hs.example/abc'],
    ['legacy r0 download', 'https://hs.example/_matrix/media/r0/download/hs.example/abc', 'legacy', 'download', '/hs.example/abc'],
    ['legacy v1 download', 'https://hs.example/_matrix/media/v1/download/hs.example/abc', 'legacy', 'download', '/hs.example/abc'],
    ['download with file name', 'https://hs.example/_matrix/media/v3/download/hs.example/abc/cat%20pic.png', 'legacy', 'download', '/hs.example/abc/cat%20pic.png'],
    ['legacy thumbnail', 'https://hs.example/_matrix/media/v3/thumbnail/hs.example/abc?width=32&height=32', 'legacy', 'thumbnail', '/hs.example/abc'],
    ['legacy config', 'https://hs.example/_matrix/media/v3/config', 'legacy', 'config', ''],
    ['legacy preview_url', 'https://hs.example/_matrix/media/v3/preview_url?url=https%3A%2F%2Fx', 'legacy', 'preview_url', ''],
    ['v1 download', 'https://hs.example/_matrix/client/v1/media/download/hs.example/abc', 'v1', 'download', '/hs.example/abc'],
    ['v1 thumbnail', 'https://hs.example/_matrix/client/v1/media/thumbnail/hs.example/abc?width=1&height=1', 'v1', 'thumbnail', '/hs.example/abc'],
    ['v1 config', 'https://hs.example/_matrix/client/v1/media/config', 'v1', 'config', ''],
    ['unstable download', 'https://hs.example/_matrix/client/unstable/org.matrix.msc3916/media/download/hs.example/abc', 'unstable', 'download', '/hs.example/abc'],
    ['IPv6 server name with port', 'https://hs.example/_matrix/media/v3/download/[::1]:8448/abc', 'legacy', 'download', '/[::1]:8448/abc'],
    ['server name with port', 'https://hs.example/_matrix/media/v3/download/other.example:8448/abc', 'legacy', 'download', '/other.example:8448/abc'],
  ])('%s', (_label, url, api, endpoint, rest) => {
    expect(classify(url)).toMatchObject({ kind: 'homeserver', base: 'https://hs.example', api, endpoint, rest });
  });

  it('keeps an encoded slash inside the file name segment', () => {
    expect(classify('https://hs.example/_matrix/media/v3/download/s/abc/a%2Fb.png')).toMatchObject({ rest: '/s/abc/a%2Fb.png' });
  });

  it('keeps the query string for the rewrite', () => {
    expect(classify('https://hs.example/_matrix/media/v3/thumbnail/s/abc?width=32&height=32&method=crop')).toMatchObject({
      search: '?width=32&height=32&method=crop',
    });
  });

  it('takes the path before /_matrix as the base URL prefix', () => {
    expect(classify('https://hs.example/matrix/_matrix/media/v3/download/s/abc')).toMatchObject({ base: 'https://hs.example/matrix' });
    expect(classify('https://hs.example/a/b/_matrix/client/v1/media/download/s/abc')).toMatchObject({ base: 'https://hs.example/a/b' });
  });

  it('recognises a homeserver on the app origin too', () => {
    expect(classify('https://app.example/_matrix/media/v3/download/s/abc')).toMatchObject({ kind: 'homeserver', base: 'https://app.example' });
  });

  it('resolves dot segments before classifying, as the URL parser does', () => {
    // new URL() has already turned these into plain paths; the upload path is not media.
    expect(classify('https://hs.example/_matrix/media/v3/download/../upload')).toBeUndefined();
    expect(classify('https://hs.example/_matrix/media/v3/download/%2e%2e/upload')).toBeUndefined();
    expect(classify('https://hs.example/x/../_matrix/media/v3/download/s/abc')).toMatchObject({ base: 'https://hs.example' });
  });

  it.each([
    ['upload', 'https://hs.example/_matrix/media/v3/upload'],
    ['create', 'https://hs.example/_matrix/media/v1/create'],
    ['client API', 'https://hs.example/_matrix/client/v3/sync'],
    ['versions', 'https://hs.example/_matrix/client/versions'],
    ['unknown media version', 'https://hs.example/_matrix/media/v4/download/s/abc'],
    ['unknown endpoint', 'https://hs.example/_matrix/client/v1/media/upload'],
    ['download without media id', 'https://hs.example/_matrix/media/v3/download/s'],
    ['download with empty media id', 'https://hs.example/_matrix/media/v3/download/s/'],
    ['download with extra segments', 'https://hs.example/_matrix/media/v3/download/s/abc/name/more'],
    ['thumbnail with a file name', 'https://hs.example/_matrix/media/v3/thumbnail/s/abc/name.png'],
    ['config with a suffix', 'https://hs.example/_matrix/media/v3/config/x'],
    ['encoded slash in media id', 'https://hs.example/_matrix/media/v3/download/s/a%2Fb'],
    ['encoded dots as server name', 'https://hs.example/_matrix/media/v3/download/%2e%2e/abc'],
    ['bad server name', 'https://hs.example/_matrix/media/v3/download/bad_name/abc'],
    ['non-ASCII media id', 'https://hs.example/_matrix/media/v3/download/s/%C3%A4'],
    ['overlong media id', `https://hs.example/_matrix/media/v3/download/s/${'a'.repeat(256)}`],
    ['file name that decodes to .', 'https://hs.example/_matrix/media/v3/download/s/abc/%2e'],
    ['file name that decodes to ..', 'https://hs.example/_matrix/media/v3/download/s/abc/%2e%2e'],
    ['broken percent-encoding in file name', 'https://hs.example/_matrix/media/v3/download/s/abc/%E0%A4%A'],
    ['not http', 'ftp://hs.example/_matrix/media/v3/download/s/abc'],
    ['media path only in the query', 'https://hs.example/page?u=/_matrix/media/v3/download/s/abc'],
  ])('leaves alone: %s', (_label, url) => expect(classify(url)).toBeUndefined());
});

describe('classifyMediaUrl: the worker\'s own mediaUrl paths', () => {
  it('reads a download with a file name', () => {
    expect(classify('https://app.example/matrix-media-sw/sess1/download/hs.example/abc/My%20cat.png')).toEqual({
      kind: 'local',
      api: 'v1',
      sessionId: 'sess1',
      endpoint: 'download',
      rest: '/hs.example/abc/My%20cat.png',
      search: '',
      fileName: 'My cat.png',
      attachment: false,
    });
  });

  it('reads attachment=true, and keeps it from the homeserver', () => {
    expect(classify('https://app.example/matrix-media-sw/s/download/hs.example/abc/cat.png?attachment=true&timeout_ms=5')).toMatchObject({
      kind: 'local',
      fileName: 'cat.png',
      attachment: true,
      search: '?timeout_ms=5',
    });
    expect(classify(`https://app.example/matrix-media-sw/s/encrypted/${'A'.repeat(43)}/cat.png?attachment=true`)).toMatchObject({
      kind: 'encrypted',
      fileName: 'cat.png',
      attachment: true,
    });
  });

  it.each([
    ['an attachment other than true', 'download/hs.example/abc?attachment=1'],
    ['an encrypted attachment other than true', `encrypted/${'A'.repeat(43)}?attachment=`],
    ['an attachment thumbnail', 'thumbnail/hs.example/abc?width=4&height=4&attachment=true'],
  ])('answers 400 to %s', (_label, path) => {
    expect(classify(`https://app.example/matrix-media-sw/s/${path}`)).toMatchObject({ kind: 'invalid-local' });
  });

  it('reads a thumbnail', () => {
    expect(classify('https://app.example/matrix-media-sw/s/thumbnail/hs.example/abc?width=64&height=48&method=crop')).toMatchObject({
      kind: 'local',
      endpoint: 'thumbnail',
      rest: '/hs.example/abc',
      search: '?width=64&height=48&method=crop',
      fileName: undefined,
    });
  });

  it('lives under the scope path', () => {
    const scope = 'https://app.example/client/';
    expect(classify('https://app.example/client/matrix-media-sw/s/download/hs/abc', scope)).toMatchObject({ kind: 'local' });
    expect(classify('https://app.example/matrix-media-sw/s/download/hs/abc', scope)).toBeUndefined();
  });

  it('belongs to the app origin only', () => {
    expect(classify('https://other.example/matrix-media-sw/s/download/hs/abc')).toBeUndefined();
  });

  it.each([
    ['no session', 'https://app.example/matrix-media-sw/'],
    ['bad session id', 'https://app.example/matrix-media-sw/a.b/download/hs/abc'],
    ['unknown endpoint', 'https://app.example/matrix-media-sw/s/config'],
    ['bad server name', 'https://app.example/matrix-media-sw/s/download/bad_name/abc'],
    ['bad media id', 'https://app.example/matrix-media-sw/s/download/hs/a%2Fb'],
    ['thumbnail without size', 'https://app.example/matrix-media-sw/s/thumbnail/hs/abc'],
    ['thumbnail with only a width', 'https://app.example/matrix-media-sw/s/thumbnail/hs/abc?width=3'],
  ])('answers 400 for %s', (_label, url) => expect(classify(url)).toMatchObject({ kind: 'invalid-local' }));
});
