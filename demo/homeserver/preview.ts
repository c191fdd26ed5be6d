import { MatrixError } from './http.js';

/**
 * URL previews (`preview_url`): fetches the page and returns its OpenGraph properties, as the
 * spec describes. This machine reaches no outside network, so in practice only loopback pages
 * can be previewed; anything unreachable answers 502 as Synapse does.
 */

const META = /<meta\s+[^>]*?(?:property|name)\s*=\s*["'](og:[^"']+)["'][^>]*?content\s*=\s*["']([^"']*)["'][^>]*>/gi;
const TITLE = /<title[^>]*>([^<]*)<\/title>/i;

export async function previewUrl(target: string | null): Promise<Record<string, string>> {
  if (target === null) throw new MatrixError(400, 'M_MISSING_PARAM', 'Missing string query parameter "url"');
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    throw new MatrixError(400, 'M_INVALID_PARAM', 'Invalid URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new MatrixError(400, 'M_INVALID_PARAM', 'Invalid URL');
  let html: string;
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(5000), redirect: 'follow' });
    html = (await response.text()).slice(0, 1_000_000);
  } catch {
    throw new MatrixError(502, 'M_UNKNOWN', 'Failed to download content');
  }
  const og: Record<string, string> = {};
  for (const [, property, content] of html.matchAll(META)) og[property!] = content!;
  const title = TITLE.exec(html)?.[1]?.trim();
  if (!og['og:title'] && title) og['og:title'] = title;
  return og;
}
