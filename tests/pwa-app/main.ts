// The page of a small PWA built with vite-plugin-pwa (strategies: 'injectManifest'): its own
// worker, built from the README's recipe, precaches the app and carries matrix-media-sw.
import { registerMediaWorker, type MediaWorker } from 'matrix-media-sw';
import { loadImage } from '../browser/pages/helpers.js';

// What the test calls (kept off the global Window type, which the SDK test app also extends).
const page = window as unknown as {
  ready: boolean;
  media: MediaWorker;
  start(options: { homeserverUrl: string; accessToken: string }): Promise<string>;
  loadImage: typeof loadImage;
};

page.start = async ({ homeserverUrl, accessToken }) => {
  // As the README says: the app's worker is at /sw.js, so the add-on is told where it is.
  page.media = await registerMediaWorker({ homeserverUrl, accessToken, scriptUrl: '/sw.js' });
  return page.media.mode;
};
page.loadImage = loadImage;
page.ready = true;
