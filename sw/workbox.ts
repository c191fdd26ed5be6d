/// <reference lib="webworker" />
/**
 * `matrix-media-sw/workbox`: the add-on inside an app's own Workbox service worker. An origin
 * gets one worker per scope, so an app that has one (a PWA's, from Workbox or vite-plugin-pwa)
 * adds the media route to it instead of registering a second.
 *
 * workbox-routing and workbox-core are peer dependencies: two copies of workbox-routing make
 * registerRoute's `instanceof Route` check fail.
 */
import { registerRoute, type Router } from 'workbox-routing';
import { createMediaRoute, createMediaWorkerState } from './createMediaRoute.js';
import { handleMessage } from './handleMessage.js';

declare let self: ServiceWorkerGlobalScope;

export interface MatrixMediaOptions {
  /** The app's Router, if it does not use Workbox's default one (registerRoute). */
  router?: Router;
}

/**
 * Registers the media route and the page messages on this worker. Call it before any catch-all
 * route (a NavigationRoute, setDefaultHandler): the first matching route wins.
 */
export function installMatrixMedia(options: MatrixMediaOptions = {}): void {
  const state = createMediaWorkerState();
  const route = createMediaRoute(state);
  if (options.router) options.router.registerRoute(route);
  else registerRoute(route);
  self.addEventListener('message', (event) => {
    event.waitUntil(handleMessage(state, event));
  });
}
