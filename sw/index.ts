/// <reference lib="webworker" />
/**
 * The standalone worker, `dist/matrix-media-sw.js`: the media route plus the page messages.
 * Event listeners stay thin; each calls one function from a file that answers one question.
 */
import { Router } from 'workbox-routing';
import { createMediaRoute, createMediaWorkerState } from './createMediaRoute.js';
import { handleMessage } from './handleMessage.js';
import { addStaticRoutes } from './staticRoutes.js';

declare let self: ServiceWorkerGlobalScope;

const state = createMediaWorkerState();
const router = new Router();
router.registerRoute(createMediaRoute(state));

self.addEventListener('install', (event) => {
  void self.skipWaiting();
  event.waitUntil(addStaticRoutes(event));
});

self.addEventListener('activate', (event) => {
  event.waitUntil(self.clients.claim());
});

self.addEventListener('message', (event) => {
  event.waitUntil(handleMessage(state, event));
});

self.addEventListener('fetch', (event) => {
  const response = router.handleRequest({ event, request: event.request });
  if (response) event.respondWith(response);
});
