/// <reference lib="webworker" />
import { LOCAL_MEDIA_SEGMENT } from '../../src/protocol.js';

/**
 * The Service Worker Static Routing API (Chrome 123+): requests outside the media paths go
 * straight to the network without starting the worker. Elsewhere this does nothing, and the
 * fetch handler lets those requests pass untouched.
 */

interface RouterRule {
  condition: Record<string, unknown>;
  source: 'network' | 'fetch-event';
}
interface InstallEventWithRoutes extends ExtendableEvent {
  addRoutes(rules: RouterRule | RouterRule[]): Promise<void>;
}
type URLPatternConstructor = new (init: { pathname: string }) => unknown;

// Patterns built from a dictionary wildcard every other URL part: they match homeservers on any
// origin. A string pattern would inherit the worker script's origin.
const MEDIA_PATHNAMES = [
  '*/_matrix/media/*',
  '*/_matrix/client/v1/media/*',
  '*/_matrix/client/unstable/org.matrix.msc3916/media/*',
  `*/${LOCAL_MEDIA_SEGMENT}/*`,
];

export async function addStaticRoutes(event: ExtendableEvent): Promise<void> {
  const URLPatternClass = (globalThis as { URLPattern?: URLPatternConstructor }).URLPattern;
  if (!('addRoutes' in event) || !URLPatternClass) return;
  const media = MEDIA_PATHNAMES.map((pathname) => ({ urlPattern: new URLPatternClass({ pathname }) }));
  try {
    await (event as InstallEventWithRoutes).addRoutes([{ condition: { not: { or: media } }, source: 'network' }]);
  } catch {
    // A browser that knows addRoutes but not `not`/`or` (Chrome 123–126): the fetch handler
    // still leaves non-media requests alone, so only the speed-up is lost.
  }
}
