import sharp from 'sharp';
import { MatrixError } from './http.js';
import type { StoredMedia } from './mediaStore.js';

/**
 * Real thumbnails, as the spec's "Thumbnails" section asks: width and height are the smallest
 * size wanted; never upscaled; `scale` keeps the aspect ratio, `crop` fills the requested box.
 * Output types follow Synapse: JPEG sources give JPEG, others PNG, and an animated source asked
 * for with `animated=true` gives an animated WebP.
 */

const THUMBNAILABLE = new Set(['image/jpeg', 'image/png', 'image/gif', 'image/webp', 'image/avif', 'image/apng']);

export interface Thumbnail {
  data: Buffer;
  contentType: string;
}

export interface ThumbnailRequest {
  width: number;
  height: number;
  method: 'crop' | 'scale';
  animated: boolean;
}

// Per stored item, so that two homeservers in one process never share thumbnails.
const cache = new WeakMap<StoredMedia, Map<string, Promise<Thumbnail>>>();

async function render(item: StoredMedia, request: ThumbnailRequest): Promise<Thumbnail> {
  const source = sharp(item.data, { animated: request.animated });
  const metadata = await source.metadata();
  const animated = request.animated && (metadata.pages ?? 1) > 1;
  const resized = source.resize(request.width, request.height, {
    fit: request.method === 'crop' ? 'cover' : 'outside',
    withoutEnlargement: true,
  });
  if (animated) return { data: await resized.webp().toBuffer(), contentType: 'image/webp' };
  if (item.contentType === 'image/jpeg') return { data: await resized.jpeg({ quality: 80 }).toBuffer(), contentType: 'image/jpeg' };
  return { data: await resized.png().toBuffer(), contentType: 'image/png' };
}

export function thumbnail(item: StoredMedia, request: ThumbnailRequest): Promise<Thumbnail> {
  const baseType = item.contentType.split(';', 1)[0]!.trim().toLowerCase();
  if (!THUMBNAILABLE.has(baseType)) {
    return Promise.reject(new MatrixError(400, 'M_UNKNOWN', 'Cannot find any thumbnails for the requested media'));
  }
  const key = `${request.width}x${request.height} ${request.method} ${request.animated}`;
  let sizes = cache.get(item);
  if (!sizes) cache.set(item, (sizes = new Map()));
  let pending = sizes.get(key);
  if (!pending) {
    pending = render(item, request).catch(() => {
      sizes.delete(key);
      throw new MatrixError(400, 'M_UNKNOWN', 'Failed to generate thumbnail.');
    });
    sizes.set(key, pending);
  }
  return pending;
}

/** Reads width, height, method and animated as Synapse does: missing or malformed values are 400s. */
export function parseThumbnailRequest(params: URLSearchParams): ThumbnailRequest {
  const size = (name: string): number => {
    const value = params.get(name);
    if (value === null) throw new MatrixError(400, 'M_MISSING_PARAM', `Missing integer query parameter "${name}"`);
    if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > 10_000) {
      throw new MatrixError(400, 'M_INVALID_PARAM', `Query parameter "${name}" must be a positive integer`);
    }
    return Number(value);
  };
  const method = params.get('method') ?? 'scale';
  if (method !== 'crop' && method !== 'scale') throw new MatrixError(400, 'M_INVALID_PARAM', 'Query parameter "method" must be "crop" or "scale"');
  const animated = params.get('animated');
  if (animated !== null && animated !== 'true' && animated !== 'false') {
    throw new MatrixError(400, 'M_INVALID_PARAM', 'Boolean query parameter "animated" must be one of ["true", "false"]');
  }
  return { width: size('width'), height: size('height'), method, animated: animated === 'true' };
}
