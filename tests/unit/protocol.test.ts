import { describe, expect, it } from 'vitest';
import { normalizeHomeserverUrl } from '../../src/homeserverUrl.js';
import { asPageToWorkerMessage, asReply, asWorkerToPageMessage } from '../../src/protocol.js';

describe('asPageToWorkerMessage', () => {
  const session = { id: 's1', key: 'k'.repeat(32), homeserverUrl: 'https://hs.example', accessToken: 'tok' };
  it('accepts each message of the protocol', () => {
    expect(asPageToWorkerMessage({ type: 'mms/session', session })).toEqual({ type: 'mms/session', session });
    expect(asPageToWorkerMessage({ type: 'mms/session', session: { ...session, accessToken: null } })).toBeDefined();
    expect(asPageToWorkerMessage({ type: 'mms/sign-out', sessionId: 's1', key: 'k' })).toEqual({ type: 'mms/sign-out', sessionId: 's1', key: 'k' });
    expect(asPageToWorkerMessage({ type: 'mms/claim' })).toEqual({ type: 'mms/claim' });
    expect(asPageToWorkerMessage({ type: 'mms/ping' })).toEqual({ type: 'mms/ping' });
    expect(asPageToWorkerMessage({ type: 'mms/skip-waiting' })).toEqual({ type: 'mms/skip-waiting' });
    expect(asPageToWorkerMessage({ type: 'mms/session', session, provisional: true })).toEqual({ type: 'mms/session', session, provisional: true });
    expect(asPageToWorkerMessage({ type: 'mms/confirm', sessionId: 's1', key: 'k' })).toEqual({ type: 'mms/confirm', sessionId: 's1', key: 'k' });
  });
  it('takes the valid keys of a batch and drops only a malformed one', () => {
    const file = { url: 'mxc://hs.example/abc', key: { kty: 'oct', key_ops: ['encrypt', 'decrypt'], alg: 'A256CTR', k: 'A'.repeat(43), ext: true }, iv: 'A'.repeat(22), hashes: { sha256: 'A'.repeat(43) }, v: 'v2' };
    const good = { fileId: 'f1', file, mimetype: 'image/png' };
    const message = asPageToWorkerMessage({ type: 'mms/keys', sessionId: 's1', key: 'k', files: [good, { ...good, file: { ...file, v: 'v1' } }, { ...good, mimetype: 3 }, null] });
    expect(message).toEqual({ type: 'mms/keys', sessionId: 's1', key: 'k', files: [good] });
  });
  it('treats anything but provisional: true as a session to keep', () => {
    expect(asPageToWorkerMessage({ type: 'mms/session', session, provisional: 'yes' })).toEqual({ type: 'mms/session', session });
  });
  it.each([
    ['null', null],
    ['a string', 'mms/claim'],
    ['an unknown type', { type: 'mms/steal' }],
    ['another library\'s message', { type: 'SKIP_WAITING' }],
    ['a session without id', { type: 'mms/session', session: { ...session, id: '' } }],
    ['a session with a numeric token', { type: 'mms/session', session: { ...session, accessToken: 42 } }],
    ['a session with an empty token', { type: 'mms/session', session: { ...session, accessToken: '' } }],
    ['a session without homeserver', { type: 'mms/session', session: { id: 's', accessToken: 't' } }],
    ['a sign-out without id', { type: 'mms/sign-out' }],
    ['a sign-out without key', { type: 'mms/sign-out', sessionId: 's1' }],
    ['a confirmation without key', { type: 'mms/confirm', sessionId: 's1' }],
    ['a session without key', { type: 'mms/session', session: { ...session, key: undefined } }],
    ['a session with a short key', { type: 'mms/session', session: { ...session, key: 'short' } }],
    ['keys without a list', { type: 'mms/keys', sessionId: 's1', key: 'k', files: {} }],
    ['keys without the session key', { type: 'mms/keys', sessionId: 's1', files: [] }],
  ])('ignores %s', (_label, data) => expect(asPageToWorkerMessage(data)).toBeUndefined());
});

describe('asWorkerToPageMessage and asReply', () => {
  it('accept the protocol and nothing else', () => {
    expect(asWorkerToPageMessage({ type: 'mms/session-request' })).toEqual({ type: 'mms/session-request' });
    expect(asWorkerToPageMessage({ type: 'mms/refresh-request', sessionId: 's' })).toBeDefined();
    expect(asWorkerToPageMessage({ type: 'mms/refresh-request' })).toBeUndefined();
    expect(asReply({ type: 'mms/ack', version: '1' })).toEqual({ type: 'mms/ack', version: '1' });
    expect(asReply({ type: 'mms/refresh-reply', accessToken: null })).toBeDefined();
    expect(asReply({ type: 'mms/refresh-reply', accessToken: 3 })).toBeUndefined();
    expect(asReply({ type: 'mms/session-reply', sessions: [{ id: 'x' }] })).toBeUndefined();
    expect(asReply({ type: 'mms/error', code: 'bad-message', message: 'm' })).toBeDefined();
  });
});

describe('normalizeHomeserverUrl', () => {
  it.each([
    ['https://hs.example', 'https://hs.example'],
    ['https://hs.example/', 'https://hs.example'],
    ['https://HS.example:443/', 'https://hs.example'],
    ['http://127.0.0.1:8008', 'http://127.0.0.1:8008'],
    ['https://hs.example/matrix/', 'https://hs.example/matrix'],
    ['https://hs.example/matrix?x=1#y', 'https://hs.example/matrix'],
    ['https://[::1]:8448', 'https://[::1]:8448'],
  ])('%s → %s', (input, expected) => expect(normalizeHomeserverUrl(input)).toBe(expected));
  it.each(['', 'hs.example', 'ftp://hs.example', 'https://user:pw@hs.example', 'https://hs.example/_matrix/client', 'https://hs.example/_matrix'])(
    'rejects %j',
    (input) => expect(normalizeHomeserverUrl(input)).toBeUndefined(),
  );
});
