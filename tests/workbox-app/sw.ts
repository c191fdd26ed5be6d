/// <reference lib="webworker" />
// A small app's own Workbox worker, as a PWA would have: it precaches its shell, serves every
// navigation from it (a catch-all), and includes matrix-media-sw through its Workbox entry.
import { installMatrixMedia } from 'matrix-media-sw/workbox';
import { clientsClaim } from 'workbox-core';
import { createHandlerBoundToURL, precacheAndRoute } from 'workbox-precaching';
import { NavigationRoute, registerRoute } from 'workbox-routing';

declare let self: ServiceWorkerGlobalScope;

void self.skipWaiting();
clientsClaim();
precacheAndRoute([{ url: '/shell.html', revision: '1' }]);
// Before the catch-all: the first matching route wins, and mediaUrl navigations are media.
installMatrixMedia();
registerRoute(new NavigationRoute(createHandlerBoundToURL('/shell.html')));
