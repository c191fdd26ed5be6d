import { samplePng } from '../../demo/homeserver/png.js';
import { expect, legacy, loadImage, register, test } from './fixtures.js';

// Bad input: the worker never forwards the token to a path other than the one the URL named,
// and answers invalid mediaUrl paths with 400 or leaves invalid homeserver URLs alone.

test.describe('bad input', () => {
  test('malformed media URLs never carry the token anywhere but the path they named', async ({ appPage: page, homeserver }) => {
    const token = homeserver.register('alice', 'pw');
    await register(page, { homeserverUrl: homeserver.url, accessToken: token });
    const mxc = homeserver.addMedia(samplePng(4, 4), 'image/png');
    const [server, id] = mxc.slice(6).split('/') as [string, string];
    const base = `${homeserver.url}/_matrix/media/v3/download`;
    const malformed = [
      `${base}/${server}/${id}/../../../../client/v3/account/whoami`,
      `${base}/${server}/%2e%2e/%2e%2e/%2e%2e/client/v3/account/whoami`,
      `${base}/${server}/${id}%2F..%2F..%2Fwhoami`,
      `${base}/${server}/a%2Fb`,
      `${base}//${id}`,
      `${base}/${server}/`,
      `${base}/${server}/${'x'.repeat(300)}`,
      `${base}/bad_server!/${id}`,
      `${base}/${server}.%2e/${id}`,
      `${base}/${server}/m\u00e9dia`,
      `${base}/[::1/${id}`,
      `${homeserver.url}/_matrix/media/v3/thumbnail/${server}/${id}/extra?width=1&height=1`,
    ];
    for (const url of malformed) await loadImage(page, url);
    // None of these reached the homeserver with a token: invalid media is left to the browser.
    expect(homeserver.log.filter((r) => r.authorization !== null)).toEqual([]);

    // Query injection: every access_token goes, the one path named gets the header.
    const injected = `${legacy(homeserver, mxc)}?access_token=a&width=1&access_token=b&access_token=${token}`;
    expect((await loadImage(page, injected)).ok).toBe(true);
    const authorized = homeserver.log.filter((r) => r.authorization !== null);
    expect(authorized.map((r) => [r.method, r.path])).toEqual([['GET', `/_matrix/client/v1/media/download/${server}/${id}?width=1`]]);
  });

  test('malformed mediaUrl paths are answered with 400 by the worker, and nothing goes upstream', async ({ appPage: page, homeserver }) => {
    const token = homeserver.register('alice', 'pw');
    const { sessionId } = await register(page, { homeserverUrl: homeserver.url, accessToken: token });
    const from = homeserver.log.length;
    const statuses = await page.evaluate(async (sid) => {
      const paths = [
        `/matrix-media-sw/${sid}/download/bad_server/abc`,
        `/matrix-media-sw/${sid}/download/localhost/a%2Fb`,
        `/matrix-media-sw/${sid}/thumbnail/localhost/abc`,
        `/matrix-media-sw/${sid}/preview_url`,
        `/matrix-media-sw/not.a.session/download/localhost/abc`,
      ];
      return Promise.all(paths.map(async (p) => (await fetch(p)).status));
    }, sessionId);
    expect(statuses).toEqual([400, 400, 400, 400, 400]);
    expect(homeserver.log.slice(from)).toEqual([]);
  });

  test('mediaUrl refuses invalid mxc URIs with a typed error', async ({ appPage: page, homeserver }) => {
    await register(page, { homeserverUrl: homeserver.url, accessToken: homeserver.register('alice', 'pw') });
    const codes = await page.evaluate(() =>
      ['mxc://evil/../../x', 'mxc://host/id/extra', 'mxc://ho st/id', 'https://host/id', 'mxc://host/%2e%2e', 'mxc://[::1/id'].map((mxc) => {
        try {
          (window as any).handles[0].mediaUrl(mxc);
          return 'built a URL';
        } catch (error) {
          return (error as { code?: string }).code;
        }
      }),
    );
    expect(codes).toEqual(Array(6).fill('invalid-mxc'));
  });

  test('uploaded SVG and HTML served through mediaUrl cannot run script on the app origin', async ({ appPage: page, context, homeserver }) => {
    const token = homeserver.register('alice', 'pw');
    await register(page, { homeserverUrl: homeserver.url, accessToken: token });
    const svg = homeserver.addMedia(
      Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" onload="parent.pwned=\'svg\'"><script>parent.pwned="svg"</script></svg>'),
      'image/svg+xml',
      'x.svg',
    );
    const html = homeserver.addMedia(Buffer.from('<script>parent.pwned="html"</script>'), 'text/html', 'x.html');
    const result = await page.evaluate(
      async ({ svg, html }) => {
        const handle = (window as any).handles[0];
        const headers = async (mxc: string) => {
          const res = await fetch(handle.mediaUrl(mxc));
          return { disposition: res.headers.get('content-disposition'), nosniff: res.headers.get('x-content-type-options'), csp: res.headers.get('content-security-policy') };
        };
        // Framed, as an embed would be: an attachment is not rendered, and the sandbox forbids script.
        for (const mxc of [svg, html]) {
          const frame = document.createElement('iframe');
          frame.src = handle.mediaUrl(mxc);
          document.body.append(frame);
          await new Promise((r) => setTimeout(r, 800));
        }
        const img = await (window as any).loadImage(handle.mediaUrl(svg));
        return { svg: await headers(svg), html: await headers(html), pwned: (window as any).pwned ?? null, img };
      },
      { svg, html },
    );
    expect(result.pwned).toBeNull();
    for (const served of [result.svg, result.html]) {
      expect(served.disposition).toMatch(/^attachment/);
      expect(served.nosniff).toBe('nosniff');
      expect(served.csp).toMatch(/^sandbox;.*script-src 'none'/);
    }
    // Opened in a tab of its own, the HTML is downloaded, not rendered on the app origin.
    const tab = await context.newPage();
    const download = tab.waitForEvent('download', { timeout: 10_000 }).catch(() => null);
    await tab.goto(await page.evaluate((m) => (window as any).handles[0].mediaUrl(m), html)).catch(() => undefined);
    expect(await download).not.toBeNull();
  });
});
