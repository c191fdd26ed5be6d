// A reference worker for the benchmark, NOT matrix-media-sw: it works the way Element's and
// Hydrogen's media workers did, written here from their descriptions. For every media request
// it asks the page that made it for the token over postMessage, then fetches the v1 URL with
// only the Authorization header: the element's Range is dropped.
self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));

function askPage(clientId) {
  return self.clients.get(clientId).then(
    (client) =>
      new Promise((resolve) => {
        const channel = new MessageChannel();
        channel.port1.onmessage = (event) => resolve(event.data);
        setTimeout(() => resolve(null), 1000);
        client.postMessage({ type: 'bench/token-request' }, [channel.port2]);
      }),
  );
}

self.addEventListener('fetch', (event) => {
  const url = event.request.url;
  if (!url.includes('/_matrix/media/v3/')) return;
  event.respondWith(
    askPage(event.clientId).then((answer) => {
      const target = url.replace('/_matrix/media/v3/', '/_matrix/client/v1/media/');
      if (!answer || !url.startsWith(answer.homeserver)) return fetch(event.request);
      return fetch(target, { headers: { Authorization: `Bearer ${answer.token}` }, mode: 'cors', credentials: 'omit' });
    }),
  );
});
