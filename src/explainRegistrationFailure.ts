import { MediaSwError } from './MediaSwError.js';

/**
 * Why the browser refused to register the worker, in words that say what to fix.
 *
 * The browser's own error says little ("Failed to register a ServiceWorker: The script has an
 * unsupported MIME type ('text/html')"). The usual cause in the field is a single-page-app host
 * (nginx `try_files … /index.html`, Netlify `/* /index.html 200`, Caddy `try_files`) that
 * answers the app's index.html for a worker file that was never deployed. Fetching the script
 * once more shows which it is.
 */

const JAVASCRIPT = /^(text|application)\/(x-)?(javascript|ecmascript)\b/i;

export async function explainRegistrationFailure(scriptHref: string, cause: unknown): Promise<MediaSwError> {
  const reason = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
  const failed = (detail: string) => new MediaSwError('registration-failed', `${detail} (the browser said: ${reason}).`, { cause });
  let response: Response;
  try {
    response = await fetch(scriptHref, { cache: 'no-store', credentials: 'same-origin' });
  } catch {
    return failed(`The browser refused to register the media worker, and ${scriptHref} could not be fetched`);
  }
  void response.body?.cancel();
  const type = response.headers.get('Content-Type') ?? 'no Content-Type';
  const deploy = 'Deploy dist/matrix-media-sw.js from the matrix-media-sw package at that URL (or pass scriptUrl), served as JavaScript; see "Deploying" in the README';
  if (!response.ok) {
    return failed(`The media worker script ${scriptHref} answered ${response.status}. ${deploy}`);
  }
  if (!JAVASCRIPT.test(type)) {
    return failed(
      `The media worker script ${scriptHref} is served as ${type}, not JavaScript: a single-page-app server answers its index.html for files that were not deployed. ${deploy}`,
    );
  }
  return failed('The browser refused to register the media worker: its script threw, or its scope is not allowed');
}
