// An app's own media worker, as Matrix clients ship them today: for authenticated media it asks
// the page for the token in a message of its own protocol, then fetches with the header. Like
// Element's, it gives the page a second to answer (`?forever`: no limit at all). A page of the
// new app version no longer answers, so its media requests hang until then.
const forever = new URL(self.location.href).searchParams.has('forever');
self.addEventListener('install', () => void self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));

function askForToken(client) {
  return new Promise((resolve, reject) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = (message) => resolve(message.data.token);
    client.postMessage({ type: 'app/token-request' }, [channel.port2]);
    if (!forever) setTimeout(() => reject(new Error('the page did not answer')), 1000);
  });
}

self.addEventListener('fetch', (event) => {
  if (!new URL(event.request.url).pathname.startsWith('/_matrix/client/v1/media/')) return;
  event.respondWith(
    (async () => {
      const client = await self.clients.get(event.clientId);
      const token = await askForToken(client).catch(() => null);
      return fetch(event.request.url, token ? { headers: { Authorization: `Bearer ${token}` } } : {});
    })(),
  );
});
