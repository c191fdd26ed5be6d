// An app's own service worker that knows nothing of matrix-media-sw: it takes its pages at once
// and sends every request to the network. `?lazy` makes it one that never calls skipWaiting
// or clients.claim, so it controls only pages loaded after it activated.
const lazy = new URL(self.location.href).searchParams.has('lazy');
self.addEventListener('install', () => {
  if (!lazy) void self.skipWaiting();
});
self.addEventListener('activate', (event) => {
  if (!lazy) event.waitUntil(self.clients.claim());
});
self.addEventListener('fetch', (event) => event.respondWith(fetch(event.request)));
