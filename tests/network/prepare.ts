// `npm test` runs this before the browser tests: build Toxiproxy where it is missing, with
// progress on the console, rather than inside a test's time limit.
import { ensureToxiproxyBuilt, TOXIPROXY_VERSION } from '../toxiproxy.js';

const started = Date.now();
ensureToxiproxyBuilt();
console.log(`Toxiproxy ${TOXIPROXY_VERSION} ready (${((Date.now() - started) / 1000).toFixed(1)} s)`);
