import { describe, expect, it } from 'vitest';
import { MediaSwError } from '../../src/MediaSwError.js';
import { buildEncryptedMediaUrl, buildMediaUrl, checkEncryptedMediaOptions } from '../../src/mediaUrl.js';
import { classifyMediaUrl } from '../../sw/routing/classifyMediaUrl.js';

const SCOPE = 'https://app.example/client/';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return error instanceof MediaSwError ? error.code : `not a MediaSwError: ${String(error)}`;
  }
  return undefined;
}

describe('buildMediaUrl', () => {
  it('builds a same-origin download URL under the scope', () => {
    expect(buildMediaUrl(SCOPE, 'sid', 'mxc://hs.example/abc')).toBe('https://app.example/client/matrix-media-sw/sid/download/hs.example/abc');
  });

  it('puts the file name last, encoded', () => {
    expect(buildMediaUrl(SCOPE, 'sid', 'mxc://hs.example/abc', { filename: 'Holiday #1/ä?.png' })).toBe(
      'https://app.example/client/matrix-media-sw/sid/download/hs.example/abc/Holiday%20%231%2F%C3%A4%3F.png',
    );
  });

  it('builds a thumbnail URL with its parameters', () => {
    expect(buildMediaUrl(SCOPE, 'sid', 'mxc://[::1]:8448/abc', { width: 96, height: 64, method: 'crop', animated: false })).toBe(
      'https://app.example/client/matrix-media-sw/sid/thumbnail/[::1]:8448/abc?width=96&height=64&method=crop&animated=false',
    );
  });

  it('asks for an attachment with attachment: true', () => {
    const url = buildMediaUrl(SCOPE, 'sid', 'mxc://hs.example/abc', { filename: 'cat.png', attachment: true });
    expect(url).toBe('https://app.example/client/matrix-media-sw/sid/download/hs.example/abc/cat.png?attachment=true');
    expect(classifyMediaUrl(new URL(url), SCOPE)).toMatchObject({ kind: 'local', fileName: 'cat.png', attachment: true, search: '' });
    expect(buildMediaUrl(SCOPE, 'sid', 'mxc://hs.example/abc', { attachment: false })).toBe('https://app.example/client/matrix-media-sw/sid/download/hs.example/abc');
  });

  it('makes URLs the worker reads back to the same media', () => {
    const download = classifyMediaUrl(new URL(buildMediaUrl(SCOPE, 'sid', 'mxc://hs.example:8448/abc', { filename: 'a b/c.pdf' })), SCOPE);
    expect(download).toMatchObject({ kind: 'local', sessionId: 'sid', endpoint: 'download', rest: '/hs.example:8448/abc/a%20b%2Fc.pdf', fileName: 'a b/c.pdf' });
    const thumbnail = classifyMediaUrl(new URL(buildMediaUrl(SCOPE, 'sid', 'mxc://hs.example/abc', { width: 32, height: 32 })), SCOPE);
    expect(thumbnail).toMatchObject({ kind: 'local', endpoint: 'thumbnail', search: '?width=32&height=32' });
  });

  it.each(['', 'https://hs.example/abc', 'mxc://hs.example/../x', 'mxc://hs.example/a/b', 'mxc://bad_host/abc', 'mxc://hs.example/a%2Fb'])(
    'rejects the mxc URI %j',
    (mxc) => expect(codeOf(() => buildMediaUrl(SCOPE, 'sid', mxc))).toBe('invalid-mxc'),
  );

  it.each([
    ['a width alone', { width: 32 }],
    ['a height alone', { height: 32 }],
    ['a zero width', { width: 0, height: 32 }],
    ['a fractional size', { width: 1.5, height: 32 }],
    ['a bad method', { width: 32, height: 32, method: 'stretch' }],
    ['a non-boolean animated', { width: 32, height: 32, animated: 'yes' }],
    ['method without size', { method: 'crop' }],
    ['a thumbnail file name', { width: 32, height: 32, filename: 'x.png' }],
    ['an empty file name', { filename: '' }],
    ['a non-boolean attachment', { attachment: 'yes' }],
    ['an attachment thumbnail', { width: 32, height: 32, attachment: true }],
  ])('rejects %s', (_label, options) => {
    expect(codeOf(() => buildMediaUrl(SCOPE, 'sid', 'mxc://hs.example/abc', options as never))).toBe('invalid-options');
  });
});

describe('encryptedMediaUrl options', () => {
  const FILE_ID = 'A'.repeat(43);

  it('builds an attachment URL that the worker reads back', () => {
    const url = buildEncryptedMediaUrl(SCOPE, 'sid', FILE_ID, { filename: 'clip.webm', attachment: true });
    expect(url).toBe(`https://app.example/client/matrix-media-sw/sid/encrypted/${FILE_ID}/clip.webm?attachment=true`);
    expect(classifyMediaUrl(new URL(url), SCOPE)).toMatchObject({ kind: 'encrypted', fileId: FILE_ID, fileName: 'clip.webm', attachment: true });
  });

  it.each([
    ['a non-boolean attachment', { attachment: 1 }],
    ['a mimetype that is no content type', { mimetype: 'video' }],
    ['an empty file name', { filename: '' }],
  ])('rejects %s', (_label, options) => {
    expect(codeOf(() => checkEncryptedMediaOptions(options as never))).toBe('invalid-options');
  });
});
