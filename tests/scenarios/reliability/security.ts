import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { samplePng } from '../../../demo/homeserver/png.js';
import type { Homeserver } from '../../../demo/homeserver/server.js';
import type { PageDriver } from '../driver.js';
import { encryptedUrl, uploadEncrypted } from '../encrypted.js';
import { storeContents, untilStored } from '../store.js';
import { loadImage, mediaGets, register, type ReliabilityGroup, type ReliabilityScenario } from './env.js';

// The security review's findings (issue 21), each as what a user would meet: a homeserver that
// misbehaves on purpose, or a second account's tab of the same origin. Findings 1 to 8 as the
// review numbered them; the README's reliability table names each scenario.

const sha = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** What the page's fetch() of `url` got: status, and the SHA-256 and length of the body (or the error that ended it). */
function fetchDigest(d: PageDriver, url: string, range?: string) {
  return d.run<{ status: number; length: number; sha256: string; error: string | null; errcode: string | null }>(
    `try {
       const response = await fetch(args.url, args.range ? { headers: { Range: args.range } } : {});
       const bytes = new Uint8Array(await response.arrayBuffer());
       const hex = Array.from(new Uint8Array(await crypto.subtle.digest('SHA-256', bytes)), (b) => b.toString(16).padStart(2, '0')).join('');
       let errcode = null;
       if (response.status >= 400) try { errcode = JSON.parse(new TextDecoder().decode(bytes)).errcode; } catch {}
       return { status: response.status, length: bytes.length, sha256: hex, error: null, errcode };
     } catch (error) {
       return { status: 0, length: 0, sha256: '', error: String(error), errcode: null };
     }`,
    { url, range },
  );
}

async function signIn(d: PageDriver, homeserver: Homeserver, user = 'alice', extra: Record<string, unknown> = {}): Promise<string> {
  Object.assign(homeserver.config, { rangeSupport: false, mediaCacheControl: 'no-cache' });
  const token = homeserver.register(user, 'pw');
  await register(d, { homeserverUrl: homeserver.url, accessToken: token, ...extra });
  return token;
}

const MIB = 1024 * 1024;

const tamperedCiphertext: ReliabilityScenario = {
  title: 'finding 1: a server that drops the first download, then serves the ciphertext changed: the page gets the genuine plaintext or an error, never bytes it chose',
  async run({ driver: d, homeserver, faults }) {
    await signIn(d, homeserver);
    const plain = randomBytes(2 * MIB);
    const attachment = await uploadEncrypted(homeserver, plain);
    // The review's server: the first GET gets the full Content-Length and a reset after one
    // byte, the second the honest ciphertext, every later one the ciphertext XOR 0x41.
    homeserver.downloadScript = (_, n) => (n === 1 ? { resetAfter: 1 } : n === 2 ? undefined : { xor: 0x41 });
    faults.inject('download reset, then ciphertext changed');
    const url = await encryptedUrl(d, attachment.file, { mimetype: 'application/octet-stream', filename: 'minutes.bin' });
    const genuine = { whole: sha(plain), tail: sha(plain.subarray(MIB)) };
    // A whole read and a ranged one at once: the second joins the first one's download.
    const [whole, tail] = await Promise.all([fetchDigest(d, url), fetchDigest(d, url, `bytes=${MIB}-`)]);
    assert.deepEqual([whole.status, whole.sha256 === genuine.whole], [200, true], JSON.stringify(whole));
    assert.deepEqual([tail.status, tail.sha256 === genuine.tail], [206, true], JSON.stringify(tail));
    await untilStored(d, attachment.file.url, attachment.ciphertextBytes);
    for (const range of [undefined, `bytes=${MIB}-`]) {
      const again = await fetchDigest(d, url, range);
      assert.equal(again.sha256, range ? genuine.tail : genuine.whole, `again${range ? ` (${range})` : ''}: ${JSON.stringify(again)}`);
    }
    // After a reload, the stored copy is checked again and decrypted; the server is not asked.
    const before = mediaGets(homeserver).length;
    await d.reload();
    await signIn(d, homeserver, 'alice2');
    const reloaded = await fetchDigest(d, await encryptedUrl(d, attachment.file, { mimetype: 'application/octet-stream' }));
    assert.deepEqual([reloaded.status, reloaded.sha256 === genuine.whole], [200, true], JSON.stringify(reloaded));
    assert.equal(mediaGets(homeserver).length, before, 'after the reload the ciphertext comes from the store');
  },
};

const brokenDownload: ReliabilityScenario = {
  title: 'finding 2: an encrypted download that breaks after 300 KiB: both requests get the file, none waits for ever',
  async run({ driver: d, homeserver, faults }) {
    await signIn(d, homeserver);
    const plain = randomBytes(2 * MIB);
    const attachment = await uploadEncrypted(homeserver, plain);
    homeserver.downloadScript = (_, n) => (n === 1 ? { resetAfter: 300 * 1024 } : undefined);
    faults.inject('connection reset after 300 KiB');
    const url = await encryptedUrl(d, attachment.file, { mimetype: 'application/octet-stream' });
    const answers = await Promise.all([fetchDigest(d, url), fetchDigest(d, url)]);
    for (const answer of answers) assert.deepEqual([answer.status, answer.sha256 === sha(plain)], [200, true], JSON.stringify(answer));
    assert.equal(mediaGets(homeserver).length, 2, 'one broken download, one that was started again');
  },
};

const sameOriginHomeserver: ReliabilityScenario = {
  title: "finding 3: with the homeserver on the app's own origin, a media URL opened in a frame loads, with the token",
  async run({ driver: d, homeserver, app }) {
    app.proxy = homeserver.url;
    const token = homeserver.register('alice', 'pw');
    await register(d, { homeserverUrl: app.url, accessToken: token });
    const mxc = homeserver.addMedia(samplePng(20, 10), 'image/png');
    const from = homeserver.log.length;
    const loaded = await d.run<boolean>(
      `const frame = document.createElement('iframe');
       const load = new Promise((resolve) => frame.addEventListener('load', () => resolve(true), { once: true }));
       frame.src = args;
       document.body.append(frame);
       // Not a timing target: a navigation that waits for its own client never loads at all.
       return Promise.race([load, new Promise((resolve) => setTimeout(() => resolve(false), 20000))]);`,
      `${app.url}/_matrix/media/v3/download/${mxc.slice(6)}`,
    );
    assert.equal(loaded, true, 'the frame loaded');
    const sent = mediaGets(homeserver, from);
    assert.ok(sent.some((r) => r.path.startsWith('/_matrix/client/v1/media/download/') && r.authorization !== null && r.status === 200), JSON.stringify(sent));
  },
};

const twoAccounts: ReliabilityScenario = {
  title: "finding 4: Alice's and Bob's tabs: Bob hears nothing of Alice's media and gets 403 for her URLs",
  async run({ driver: alice, homeserver, app }) {
    await signIn(alice, homeserver, 'alice');
    const bob = await alice.newTab(`${app.url}/index.html`);
    await register(bob, { homeserverUrl: homeserver.url, accessToken: homeserver.register('bob', 'pw') });
    const listen = 'window.reports = []; await window.handles[0].onDiagnostic((e) => window.reports.push(e));';
    await alice.run(listen);
    await bob.run(listen);
    const image = await uploadEncrypted(homeserver, samplePng(30, 20, 3));
    const encrypted = await encryptedUrl(alice, image.file, { mimetype: 'image/png', filename: 'private.png' });
    const plainMxc = homeserver.addMedia(samplePng(8, 8, 4), 'image/png');
    const download = await alice.run<string>('return window.handles[0].mediaUrl(args);', plainMxc);
    assert.deepEqual(await loadImage(alice, encrypted), { ok: true, width: 30, height: 20 });
    assert.deepEqual(await loadImage(alice, download), { ok: true, width: 8, height: 8 });
    const from = homeserver.log.length;
    for (const url of [encrypted, download]) {
      const answer = await fetchDigest(bob, url);
      assert.deepEqual([answer.status, answer.errcode], [403, 'M_FORBIDDEN'], `${url}: ${JSON.stringify(answer)}`);
    }
    assert.deepEqual(mediaGets(homeserver, from), [], "no request with Alice's token for Bob's tab");
    const heard = async (d: PageDriver) => d.run<Array<{ url: string; status: number }>>('return window.reports.map(({ url, status }) => ({ url, status }));');
    const alices = (entries: Array<{ url: string; status: number }>) => entries.filter(({ url }) => url === encrypted || url === download);
    assert.deepEqual(alices(await heard(alice)).map((e) => e.status), [200, 200], 'Alice hears of her own loads');
    // Bob hears of his own two refused requests, and of nothing Alice loaded.
    assert.deepEqual(alices(await heard(bob)).map((e) => e.status), [403, 403], "Bob hears nothing of Alice's loads");
  },
};

const craftedType: ReliabilityScenario = {
  title: 'finding 5: a sender\'s type "text/plain;x, image/svg+xml" is served as an attachment of application/octet-stream, and refused for an encrypted file',
  async run({ driver: d, homeserver }) {
    await signIn(d, homeserver);
    const mxc = homeserver.addMedia(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"><text y="20">spoofed</text></svg>'), 'text/plain;x, image/svg+xml');
    const headers = await d.run<{ type: string | null; disposition: string | null }>(
      'const r = await fetch(window.handles[0].mediaUrl(args)); await r.arrayBuffer(); return { type: r.headers.get("Content-Type"), disposition: r.headers.get("Content-Disposition") };',
      mxc,
    );
    assert.deepEqual(headers, { type: 'application/octet-stream', disposition: 'attachment' });
    const image = await uploadEncrypted(homeserver, samplePng(4, 4));
    const refused = await d.run<string>('try { window.handles[0].encryptedMediaUrl(args, { mimetype: "image/png;a, text/html" }); return "accepted"; } catch (e) { return e.code; }', image.file);
    assert.equal(refused, 'invalid-options');
  },
};

const copiedHash: ReliabilityScenario = {
  title: "finding 6: an event that copies another's hash with its own url and key gets its own URL; the real image still shows",
  async run({ driver: d, homeserver, faults }) {
    await signIn(d, homeserver);
    const real = await uploadEncrypted(homeserver, samplePng(24, 16, 5));
    const other = await uploadEncrypted(homeserver, samplePng(5, 5, 6));
    // The forgery names the real hash, with the other file's url and key.
    const forged = { ...other.file, hashes: real.file.hashes };
    faults.inject('an event with a copied hash');
    const forgedUrl = await encryptedUrl(d, forged, { mimetype: 'image/png' });
    const realUrl = await encryptedUrl(d, real.file, { mimetype: 'image/png' });
    assert.notEqual(forgedUrl, realUrl);
    assert.deepEqual(await loadImage(d, realUrl), { ok: true, width: 24, height: 16 });
    assert.equal((await loadImage(d, forgedUrl)).ok, false, 'the forgery fails its hash check');
  },
};

const noLength: ReliabilityScenario = {
  title: 'finding 7: encrypted ciphertext served without a Content-Length shows, and is stored',
  async run({ driver: d, homeserver, faults }) {
    await signIn(d, homeserver);
    const image = await uploadEncrypted(homeserver, samplePng(40, 30, 7));
    homeserver.downloadScript = () => ({ omitLength: true });
    faults.inject('no Content-Length');
    const url = await encryptedUrl(d, image.file, { mimetype: 'image/png' });
    assert.deepEqual(await loadImage(d, url), { ok: true, width: 40, height: 30 });
    await untilStored(d, image.file.url, image.ciphertextBytes);
    const from = mediaGets(homeserver).length;
    assert.equal((await fetchDigest(d, url)).status, 200);
    assert.equal(mediaGets(homeserver).length, from, 'the second read comes from the store');
  },
};

const ownLimit: ReliabilityScenario = {
  title: "finding 8: Bob's tab registering with storeBytes 0 leaves Alice's stored media, and her replay sends nothing",
  async run({ driver: alice, homeserver, app }) {
    await signIn(alice, homeserver, 'alice');
    const file = randomBytes(300 * 1024);
    const mxc = homeserver.addMedia(file, 'video/webm', 'clip.webm');
    const url = await alice.run<string>('return window.handles[0].mediaUrl(args);', mxc);
    assert.equal((await fetchDigest(alice, url, 'bytes=0-')).sha256, sha(file));
    await untilStored(alice, mxc, file.length);
    const bob = await alice.newTab(`${app.url}/index.html`);
    await register(bob, { homeserverUrl: homeserver.url, accessToken: homeserver.register('bob', 'pw'), storeBytes: 0 });
    const from = mediaGets(homeserver).length;
    assert.equal((await fetchDigest(alice, url, 'bytes=0-')).sha256, sha(file));
    assert.equal(mediaGets(homeserver).length, from, "Alice's replay comes from the store");
    assert.ok((await storeContents(alice)).some((f) => f.key.endsWith(mxc.split('/').pop()!) && f.stored === file.length));
  },
};

export const security: ReliabilityGroup = {
  title: 'security review',
  scenarios: [tamperedCiphertext, brokenDownload, sameOriginHomeserver, twoAccounts, craftedType, copiedHash, noLength, ownLimit],
};
