/// <reference lib="webworker" />
/**
 * The standalone worker, `dist/matrix-media-sw.js`: the same media route and messages as
 * `matrix-media-sw/workbox`, on a router of its own, plus the lifecycle a worker that owns its
 * scope needs. Event listeners stay thin; each calls one function.
 */
import { Router } from 'workbox-routing';
import { addStaticRoutes } from './routing/staticRoutes.js';
import { installMatrixMedia } from './workbox.js';

declare let self: ServiceWorkerGlobalScope;

const router = new Router();
installMatrixMedia({ router });

self.addEventListener('install', (event) => {
  void self.skipWaiting();
  // Only this worker may send everything else past itself: an app's own worker has its own routes.
  event.waitUntil(addStaticRoutes(event));
});

self.addEventListener('activate', (event) => {
  event.waitUntil(self.clients.claim());
});

self.addEventListener('fetch', (event) => {
  const response = router.handleRequest({ event, request: event.request });
  if (response) event.respondWith(response);
});
