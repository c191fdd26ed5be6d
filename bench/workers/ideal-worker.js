// A reference worker for the benchmark, NOT matrix-media-sw: the fastest a media worker can be.
// The token is set once (one message at setup) and held in a variable; the only logic is the
// URL swap. It has no session store, no /versions check, no Range emulation, no containment
// beyond one prefix test.
let token = null;
let homeserver = null;

self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));
self.addEventListener('message', (event) => {
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
