import { describe, expect, it } from 'vitest';
import { recheck } from '../../../sw/store/recheck.js';
import { markStandIn } from '../../../sw/upstream/standIn.js';

describe('recheck: whose word removes a stored file', () => {
  it("the authenticated endpoint's 404 removes it; the legacy endpoint's, standing in for it, is no answer", async () => {
    const notFound = () => new Response('{"errcode":"M_NOT_FOUND"}', { status: 404, headers: { 'Content-Type': 'application/json' } });
    expect((await recheck(async () => notFound())).verdict).toBe('removed');
    const standIn = await recheck(async () => markStandIn(notFound()));
    expect(standIn).toMatchObject({ verdict: 'unreachable', reason: expect.stringContaining('legacy endpoint') });
  });
});
