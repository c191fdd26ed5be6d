import { describe, expect, it } from 'vitest';
import { MAX_RATE_LIMIT_RETRIES, MAX_RATE_LIMIT_WAIT_MS, retryDelay, uploadWaitOf } from '../../../sw/upstream/retryPolicy.js';

const fresh = { rateLimitedRetries: 0, elapsedMs: 0, uploadWaitMs: 20_000 };

describe('retryDelay', () => {
  it('waits retry_after_ms after 429 M_LIMIT_EXCEEDED', () => {
    expect(retryDelay({ status: 429, errcode: 'M_LIMIT_EXCEEDED', retryAfterMs: 1500 }, fresh)).toBe(1500);
  });
  it('waits a second when the 429 names no delay', () => {
    expect(retryDelay({ status: 429, errcode: 'M_LIMIT_EXCEEDED', retryAfterMs: undefined }, fresh)).toBe(1000);
  });
  it('gives up on a wait longer than the bound, and after the last allowed retry', () => {
    expect(retryDelay({ status: 429, errcode: 'M_LIMIT_EXCEEDED', retryAfterMs: MAX_RATE_LIMIT_WAIT_MS + 1 }, fresh)).toBeUndefined();
    expect(retryDelay({ status: 429, errcode: 'M_LIMIT_EXCEEDED', retryAfterMs: 10 }, { ...fresh, rateLimitedRetries: MAX_RATE_LIMIT_RETRIES })).toBeUndefined();
    expect(retryDelay({ status: 429, errcode: 'M_LIMIT_EXCEEDED', retryAfterMs: -5 }, fresh)).toBeUndefined();
  });
  it('asks again after 504 M_NOT_YET_UPLOADED while timeout_ms allows', () => {
    expect(retryDelay({ status: 504, errcode: 'M_NOT_YET_UPLOADED', retryAfterMs: undefined }, { ...fresh, elapsedMs: 1000 })).toBe(500);
    expect(retryDelay({ status: 504, errcode: 'M_NOT_YET_UPLOADED', retryAfterMs: undefined }, { ...fresh, elapsedMs: 19_800 })).toBeUndefined();
  });
  it.each([
    [500, 'M_UNKNOWN'],
    [404, 'M_NOT_FOUND'],
    [502, 'M_TOO_LARGE'],
    [504, undefined],
    [429, undefined],
    [401, 'M_UNKNOWN_TOKEN'],
  ])('leaves %i %s to the element', (status, errcode) => {
    expect(retryDelay({ status, errcode, retryAfterMs: 10 }, fresh)).toBeUndefined();
  });
});

describe('uploadWaitOf', () => {
  it.each([
    ['', 20_000],
    ['?timeout_ms=5000', 5000],
    ['?timeout_ms=abc', 20_000],
    ['?timeout_ms=-1', 20_000],
    ['?timeout_ms=999999999', 120_000],
  ])('%j → %i', (search, expected) => expect(uploadWaitOf(search)).toBe(expected));
});
