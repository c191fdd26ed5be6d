// A reference worker for the benchmark, NOT matrix-media-sw: the fastest a media worker can be.
// The token is set once (one message at setup) and held in a variable; the only logic is the
// URL swap. It has no session store, no /versions check, no Range emulation, no containment
// beyond one prefix test.
let token = null;
let homeserver = null;

self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));
self.addEventListener('message', (event) => {
  if (event.data.token === undefined) return;
  token = event.data.token;
  homeserver = event.data.homeserver;
  event.ports[0].postMessage('ok');
});
self.addEventListener('fetch', (event) => {
  const url = event.request.url;
  if (homeserver === null || !url.startsWith(`${homeserver}/_matrix/media/v3/`)) return;
  const headers = { Authorization: `Bearer ${token}` };
  const range = event.request.headers.get('Range');
  if (range) headers.Range = range;
  event.respondWith(fetch(url.replace('/_matrix/media/v3/', '/_matrix/client/v1/media/'), { headers, mode: 'cors', credentials: 'omit' }));
});

// Encrypted images, served with the least work a worker can do: every file's key handed over at
// once before the clock starts (no message per file), the ciphertext fetched whole, verified
// with WebCrypto's digest and decrypted in one call, answered from memory. Nothing is stored,
// so a reload downloads it all again: a floor for the benchmark, not a way to serve media.
const files = new Map();
const unbase64 = (text) => Uint8Array.from(atob(text.replace(/-/g, '+').replace(/_/g, '/').replace(/=+$/, '')), (c) => c.charCodeAt(0));
const same = (a, b) => a.length === b.length && a.every((byte, i) => byte === b[i]);
self.addEventListener('message', (event) => {
  if (!event.data.files) return;
  for (const file of event.data.files) files.set(file.url.slice('mxc://'.length), file);
  event.ports[0].postMessage('ok');
});
self.addEventListener('fetch', (event) => {
  const path = new URL(event.request.url).pathname;
  const file = path.startsWith('/bench/reference-encrypted/') ? files.get(path.slice('/bench/reference-encrypted/'.length)) : undefined;
  if (!file) return;
  event.respondWith((async () => {
    const response = await fetch(`${homeserver}/_matrix/client/v1/media/download/${file.url.slice('mxc://'.length)}`, { headers: { Authorization: `Bearer ${token}` }, mode: 'cors', credentials: 'omit' });
    const ciphertext = await response.arrayBuffer();
    if (!same(new Uint8Array(await crypto.subtle.digest('SHA-256', ciphertext)), unbase64(file.hashes.sha256))) return new Response('hash mismatch', { status: 502 });
    const key = await crypto.subtle.importKey('jwk', file.key, 'AES-CTR', false, ['decrypt']);
    const plaintext = await crypto.subtle.decrypt({ name: 'AES-CTR', counter: unbase64(file.iv), length: 64 }, key, ciphertext);
    return new Response(plaintext, { headers: { 'Content-Type': 'image/png' } });
  })());
});
