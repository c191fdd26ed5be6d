import { describe, expect, it } from 'vitest';
import { isValidMediaId, isValidServerName, parseMxc } from '../../src/mxc.js';

describe('isValidServerName', () => {
  it.each([
    'matrix.org',
    'matrix.org:8888',
    'localhost',
    'a-b.example',
    '1.2.3.4',
    '1.2.3.4:1234',
    '[1234:5678::abcd]',
    '[1234:5678::abcd]:5678',
    '[::1]',
    '[::ffff:1.2.3.4]:8448',
    'x'.repeat(255),
  ])('accepts %s', (name) => expect(isValidServerName(name)).toBe(true));

  it.each([
    ['empty', ''],
    ['too long', 'x'.repeat(256)],
    ['traversal', '..'],
    ['empty label', 'a..b'],
    ['leading dot', '.matrix.org'],
    ['trailing dot', 'matrix.org.'],
    ['port 0', 'matrix.org:0'],
    ['port over 65535', 'matrix.org:65536'],
    ['six-digit port', 'matrix.org:123456'],
    ['empty port', 'matrix.org:'],
    ['IPv4 part over 255', '256.1.1.1'],
    ['bare IPv6', '::1'],
    ['unclosed bracket', '[::1'],
    ['invalid IPv6', '[12345::]'],
    ['letters in IPv6', '[::g]'],
    ['underscore', 'my_server.org'],
    ['slash', 'a/b'],
    ['percent-encoding', 'a%2Fb'],
    ['non-ASCII', 'mätrix.org'],
    ['user info', 'user@matrix.org'],
    ['space', 'matrix .org'],
  ])('rejects %s', (_label, name) => expect(isValidServerName(name)).toBe(false));
});

describe('isValidMediaId', () => {
  it.each(['abc', 'ABCdef123_-', 'x'.repeat(255)])('accepts %s', (id) => expect(isValidMediaId(id)).toBe(true));
  it.each(['', 'a.b', '..', 'a/b', 'a%2Fb', 'a b', 'ä', 'a?b', 'a#b', 'x'.repeat(256)])('rejects %j', (id) =>
    expect(isValidMediaId(id)).toBe(false),
  );
});

describe('parseMxc', () => {
  it('splits a plain URI', () => {
    expect(parseMxc('mxc://matrix.org/AbC_12-x')).toEqual({ serverName: 'matrix.org', mediaId: 'AbC_12-x' });
  });
  it('keeps ports and IPv6 literals in the server name', () => {
    expect(parseMxc('mxc://[::1]:8448/abc')).toEqual({ serverName: '[::1]:8448', mediaId: 'abc' });
    expect(parseMxc('mxc://hs.example:8008/abc')).toEqual({ serverName: 'hs.example:8008', mediaId: 'abc' });
  });
  it('drops a fragment as matrix-js-sdk does', () => {
    expect(parseMxc('mxc://matrix.org/abc#auto')).toEqual({ serverName: 'matrix.org', mediaId: 'abc' });
  });
  it.each([
    'http://matrix.org/abc',
    'MXC://matrix.org/abc',
    'mxc://matrix.org',
    'mxc://matrix.org/',
    'mxc:///abc',
    'mxc://matrix.org/abc/def',
    'mxc://matrix.org/../../etc/passwd',
    'mxc://127.0.0.1/%2e%2e',
    'mxc://matrix.org/abc?x=1',
    'mxc://bad_server/abc',
  ])('rejects %s', (mxc) => expect(parseMxc(mxc)).toBeUndefined());
  it('rejects values that are not strings', () => {
    expect(parseMxc(undefined as unknown as string)).toBeUndefined();
    expect(parseMxc(42 as unknown as string)).toBeUndefined();
  });
});
