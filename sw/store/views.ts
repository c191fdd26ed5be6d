import type { SharedDownload } from './sharedDownload.js';

/**
 * Which pages may read a download: any while it runs; once it has ended with bytes held in
 * memory, only the pages that read it. A seek is the same page; a reload is another page and
 * another view, which a `no-store` file must not be served to from what an earlier view
 * downloaded. Pages are the fetch events' clientIds.
 */

/** The pages that read each download. */
const viewers = new WeakMap<SharedDownload, Set<string>>();

/** Whether the page `clientId` may read `download`. */
export function mayRead(download: SharedDownload, clientId: string | undefined): boolean {
  return !download.heldForView || (clientId !== undefined && viewers.get(download)?.has(clientId) === true);
}

/** Records that the page `clientId` reads `download`. */
export function viewedBy(download: SharedDownload, clientId: string | undefined): void {
  if (clientId === undefined) return;
  const pages = viewers.get(download) ?? new Set();
  pages.add(clientId);
  viewers.set(download, pages);
}
