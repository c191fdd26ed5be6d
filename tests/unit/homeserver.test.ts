import sharp from 'sharp';
import { afterEach, describe, expect, it } from 'vitest';
import { samplePng } from '../../demo/homeserver/png.js';
import { startHomeserver, type Homeserver, type HomeserverOptions } from '../../demo/homeserver/server.js';

// The embedded homeserver against the spec (and Synapse where the spec leaves room), over real HTTP.

let servers: Homeserver[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});

async function start(options: HomeserverOptions = {}): Promise<Homeserver> {
  const server = await startHomeserver(options);
  servers.push(server);
  return server;
}

const v1 = (mxc: string, endpoint = 'download') => `/_matrix/client/v1/media/${endpoint}/${mxc.slice('mxc://'.length)}`;
const legacy = (mxc: string, endpoint = 'download') => `/_matrix/media/v3/${endpoint}/${mxc.slice('mxc://'.length)}`;

async function get(hs: Homeserver, path: string, token?: string, headers: Record<string, string> = {}) {
  const response = await fetch(hs.url + path, { headers: { ...headers, ...(token ? { Authorization: `Bearer ${token}` } : {}) } });
  const body = Buffer.from(await response.arrayBuffer());
  let json: Record<string, unknown> | undefined;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, body, json };
}

describe('embedded homeserver: authentication', () => {
  it('answers 401 M_MISSING_TOKEN without a token', async () => {
    const hs = await start();
    const mxc = hs.addMedia(samplePng(4, 4), 'image/png');
    expect(await get(hs, v1(mxc))).toMatchObject({ status: 401, json: { errcode: 'M_MISSING_TOKEN' } });
  });

  it('answers 401 M_UNKNOWN_TOKEN with soft_logout false for an unknown token', async () => {
    const hs = await start();
    const mxc = hs.addMedia(samplePng(4, 4), 'image/png');
    expect(await get(hs, v1(mxc), 'nope')).toMatchObject({ status: 401, json: { errcode: 'M_UNKNOWN_TOKEN', soft_logout: false } });
  });

  it('answers 401 when the token comes as header and query at once, as Synapse does', async () => {
    const hs = await start();
    const token = hs.register('alice', 'pw');
    const mxc = hs.addMedia(samplePng(4, 4), 'image/png');
    expect(await get(hs, `${v1(mxc)}?access_token=${token}`, token)).toMatchObject({ status: 401, json: { errcode: 'M_MISSING_TOKEN' } });
  });

  it('expires refreshable tokens with soft_logout true, and /refresh issues new ones once', async () => {
    const hs = await start({ accessTokenLifetimeMs: 60_000 });
    hs.accounts.register('alice', 'pw');
    const login = await fetch(`${hs.url}/_matrix/client/v3/login`, {
      method: 'POST',
      body: JSON.stringify({ type: 'm.login.password', identifier: { type: 'm.id.user', user: 'alice' }, password: 'pw', refresh_token: true }),
    }).then((r) => r.json() as Promise<Record<string, string | number>>);
    expect(login).toMatchObject({ user_id: '@alice:localhost', expires_in_ms: 60_000 });
    const whoami = (token: string) => get(hs, '/_matrix/client/v3/account/whoami', token);
    expect((await whoami(String(login.access_token))).status).toBe(200);
    hs.accounts.expireAccessTokens();
    expect(await whoami(String(login.access_token))).toMatchObject({ status: 401, json: { errcode: 'M_UNKNOWN_TOKEN', soft_logout: true } });
    const refresh = (token: string) =>
      fetch(`${hs.url}/_matrix/client/v3/refresh`, { method: 'POST', body: JSON.stringify({ refresh_token: token }) });
    const refreshed = (await (await refresh(String(login.refresh_token))).json()) as Record<string, string>;
    expect((await whoami(refreshed.access_token!)).json).toMatchObject({ user_id: '@alice:localhost' });
    expect((await refresh(String(login.refresh_token))).status).toBe(401);
  });

  it('rejects a wrong password with 403 M_FORBIDDEN and logs out a token', async () => {
    const hs = await start();
    const token = hs.register('alice', 'pw');
    const bad = await fetch(`${hs.url}/_matrix/client/v3/login`, {
      method: 'POST',
      body: JSON.stringify({ type: 'm.login.password', identifier: { type: 'm.id.user', user: 'alice' }, password: 'wrong' }),
    });
    expect(bad.status).toBe(403);
    expect((await fetch(`${hs.url}/_matrix/client/v3/logout`, { method: 'POST', headers: { Authorization: `Bearer ${token}` } })).status).toBe(200);
    expect((await get(hs, '/_matrix/client/v3/account/whoami', token)).status).toBe(401);
  });
});

describe('embedded homeserver: media', () => {
  it('serves uploads on v1 with the token, and freezes them on the legacy endpoints', async () => {
    const hs = await start();
    const token = hs.register('alice', 'pw');
    const upload = await fetch(`${hs.url}/_matrix/media/v3/upload?filename=cat.png`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'image/png' },
      body: new Uint8Array(samplePng(10, 10)),
    }).then((r) => r.json() as Promise<{ content_uri: string }>);
    expect(upload.content_uri).toMatch(/^mxc:\/\/localhost\/[A-Za-z]{24}$/);
    const served = await get(hs, v1(upload.content_uri), token);
    expect(served.status).toBe(200);
    expect(served.body.equals(samplePng(10, 10))).toBe(true);
    for (const version of ['v3', 'r0', 'v1']) {
      expect(await get(hs, `/_matrix/media/${version}/download/${upload.content_uri.slice(6)}`)).toMatchObject({ status: 404, json: { errcode: 'M_NOT_FOUND' } });
    }
  });

  it('serves media from before the freeze on the legacy endpoints', async () => {
    const hs = await start({ freezeNewMedia: false });
    const mxc = hs.addMedia(samplePng(4, 4), 'image/png');
    expect((await get(hs, legacy(mxc))).status).toBe(200);
  });

  it('sends the headers Synapse sends', async () => {
    const hs = await start();
    const token = hs.register('alice', 'pw');
    const png = hs.addMedia(samplePng(4, 4), 'image/png', 'cat.png');
    const html = hs.addMedia(Buffer.from('<p>hi</p>'), 'text/html', 'page one.html');
    const image = await get(hs, v1(png), token);
    expect(Object.fromEntries(image.headers)).toMatchObject({
      'content-type': 'image/png',
      'content-disposition': 'inline; filename=cat.png',
      'cross-origin-resource-policy': 'cross-origin',
      'access-control-allow-origin': '*',
      'content-security-policy': expect.stringContaining("sandbox; default-src 'none'; script-src 'none';"),
    });
    const page = await get(hs, v1(html), token);
    expect(page.headers.get('content-type')).toBe('text/html; charset=UTF-8');
    expect(page.headers.get('content-disposition')).toBe("attachment; filename*=utf-8''page%20one.html");
    const named = await get(hs, `${v1(png)}/other%20name.png`, token);
    expect(named.headers.get('content-disposition')).toBe("inline; filename*=utf-8''other%20name.png");
  });

  it('answers CORS preflights without auth, naming Authorization', async () => {
    const hs = await start();
    const response = await fetch(`${hs.url}/_matrix/client/v1/media/download/localhost/abc`, { method: 'OPTIONS' });
    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-headers')).toContain('Authorization');
  });

  it('answers Range with 206 when switched on, and ignores it as Synapse does when off', async () => {
    const data = Buffer.from('0123456789');
    const on = await start({ rangeSupport: true });
    const off = await start({ rangeSupport: false });
    for (const [hs, status, body] of [[on, 206, '2345'], [off, 200, '0123456789']] as const) {
      const token = hs.register('alice', 'pw');
      const mxc = hs.addMedia(data, 'application/octet-stream');
      const response = await get(hs, v1(mxc), token, { Range: 'bytes=2-5' });
      expect(response.status).toBe(status);
      expect(response.body.toString()).toBe(body);
    }
    const token = on.register('bob', 'pw');
    const mxc = on.addMedia(data, 'application/octet-stream');
    expect(await get(on, v1(mxc), token, { Range: 'bytes=20-' })).toMatchObject({ status: 416 });
  });

  it('makes real thumbnails: scale keeps the aspect ratio, crop fills the box, nothing is upscaled', async () => {
    const hs = await start();
    const token = hs.register('alice', 'pw');
    const mxc = hs.addMedia(samplePng(400, 200), 'image/png');
    const size = async (query: string) => {
      const response = await get(hs, `${v1(mxc, 'thumbnail')}?${query}`, token);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-disposition')).toBe('inline');
      const { width, height } = await sharp(response.body).metadata();
      return [width, height];
    };
    expect(await size('width=100&height=100&method=scale')).toEqual([200, 100]);
    expect(await size('width=100&height=100&method=crop')).toEqual([100, 100]);
    expect(await size('width=800&height=800&method=scale')).toEqual([400, 200]);
  });

  it('answers thumbnail parameter errors with 400', async () => {
    const hs = await start();
    const token = hs.register('alice', 'pw');
    const mxc = hs.addMedia(samplePng(8, 8), 'image/png');
    const pdf = hs.addMedia(Buffer.from('%PDF-1.4'), 'application/pdf');
    expect(await get(hs, v1(mxc, 'thumbnail'), token)).toMatchObject({ status: 400, json: { errcode: 'M_MISSING_PARAM' } });
    expect(await get(hs, `${v1(mxc, 'thumbnail')}?width=a&height=1`, token)).toMatchObject({ status: 400, json: { errcode: 'M_INVALID_PARAM' } });
    expect(await get(hs, `${v1(mxc, 'thumbnail')}?width=1&height=1&animated=yes`, token)).toMatchObject({ status: 400 });
    expect(await get(hs, `${v1(pdf, 'thumbnail')}?width=8&height=8`, token)).toMatchObject({ status: 400, json: { errcode: 'M_UNKNOWN' } });
  });

  it('answers 400 for invalid server names and media IDs, 404 for unknown media, 502 for remote media', async () => {
    const hs = await start();
    const token = hs.register('alice', 'pw');
    expect(await get(hs, '/_matrix/client/v1/media/download/bad_name/abc', token)).toMatchObject({ status: 400 });
    expect(await get(hs, '/_matrix/client/v1/media/download/localhost/a.b', token)).toMatchObject({ status: 400 });
    expect(await get(hs, '/_matrix/client/v1/media/download/localhost/unknown', token)).toMatchObject({ status: 404, json: { errcode: 'M_NOT_FOUND' } });
    expect(await get(hs, '/_matrix/client/v1/media/download/other.example/abc', token)).toMatchObject({ status: 502 });
  });

  it('answers 404 M_UNRECOGNIZED on v1 when it plays a server older than Matrix 1.11', async () => {
    const hs = await start({ authenticatedMedia: false, versions: ['v1.10'] });
    const token = hs.register('alice', 'pw');
    expect(await get(hs, '/_matrix/client/v1/media/download/localhost/abc', token)).toMatchObject({ status: 404, json: { errcode: 'M_UNRECOGNIZED' } });
    expect((await get(hs, '/_matrix/client/versions')).json).toMatchObject({ versions: ['v1.10'] });
  });

  it('answers 429 M_LIMIT_EXCEEDED with retry_after_ms and Retry-After when told to', async () => {
    const hs = await start({ rateLimitNext: 1, retryAfterMs: 1500 });
    const token = hs.register('alice', 'pw');
    const mxc = hs.addMedia(samplePng(4, 4), 'image/png');
    const limited = await get(hs, v1(mxc), token);
    expect(limited).toMatchObject({ status: 429, json: { errcode: 'M_LIMIT_EXCEEDED', retry_after_ms: 1500 } });
    expect(limited.headers.get('retry-after')).toBe('2');
    expect((await get(hs, v1(mxc), token)).status).toBe(200);
  });

  it('waits for an async upload within timeout_ms, then answers 504 M_NOT_YET_UPLOADED', async () => {
    const hs = await start();
    const token = hs.register('alice', 'pw');
    const auth = { Authorization: `Bearer ${token}` };
    const created = (await fetch(`${hs.url}/_matrix/media/v1/create`, { method: 'POST', headers: auth }).then((r) => r.json())) as { content_uri: string };
    expect(await get(hs, `${v1(created.content_uri)}?timeout_ms=50`, token)).toMatchObject({ status: 504, json: { errcode: 'M_NOT_YET_UPLOADED' } });
    const waiting = get(hs, `${v1(created.content_uri)}?timeout_ms=5000`, token);
    await new Promise((r) => setTimeout(r, 50));
    const put = await fetch(`${hs.url}/_matrix/media/v3/upload/${created.content_uri.slice(6)}`, {
      method: 'PUT',
      headers: { ...auth, 'Content-Type': 'text/plain' },
      body: 'late',
    });
    expect(put.status).toBe(200);
    expect((await waiting).body.toString()).toBe('late');
    const again = await fetch(`${hs.url}/_matrix/media/v3/upload/${created.content_uri.slice(6)}`, { method: 'PUT', headers: auth, body: 'x' });
    expect(again.status).toBe(409);
  });

  it('answers 502 M_TOO_LARGE for media over the served limit', async () => {
    const hs = await start({ maxServedBytes: 5 });
    const token = hs.register('alice', 'pw');
    const mxc = hs.addMedia(Buffer.from('0123456789'), 'text/plain');
    expect(await get(hs, v1(mxc), token)).toMatchObject({ status: 502, json: { errcode: 'M_TOO_LARGE' } });
  });

  it('redirects to the CDN origin, which records whether a token arrived', async () => {
    const hs = await start({ redirect: { status: 307, to: 'cdn' } });
    const token = hs.register('alice', 'pw');
    const mxc = hs.addMedia(Buffer.from('cdn body'), 'text/plain');
    const response = await fetch(hs.url + v1(mxc), { headers: { Authorization: `Bearer ${token}` }, redirect: 'manual' });
    expect(response.status).toBe(307);
    expect(response.headers.get('location')).toBe(`${hs.cdnUrl}/cdn/${mxc.split('/').pop()}`);
    const followed = await fetch(response.headers.get('location')!);
    expect(await followed.text()).toBe('cdn body');
    expect(hs.log.filter((r) => r.origin === 'cdn').map((r) => r.authorization)).toEqual([null]);
  });

  it('keeps media in a folder across restarts when given one', async () => {
    const { mkdtempSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const folder = mkdtempSync(join(tmpdir(), 'mms-media-'));
    const first = await start({ mediaFolder: folder });
    const mxc = first.addMedia(Buffer.from('kept'), 'text/plain', 'kept.txt');
    await first.close();
    servers = servers.filter((s) => s !== first);
    const second = await start({ mediaFolder: folder });
    const token = second.register('alice', 'pw');
    expect((await get(second, v1(mxc), token)).body.toString()).toBe('kept');
  });
});
