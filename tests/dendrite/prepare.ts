// `npm test` runs this before the browser tests: build Dendrite where it is missing, with
// progress on the console, rather than inside a test's time limit.
import { DENDRITE_VERSION, ensureDendriteBuilt } from './dendrite.js';

const started = Date.now();
ensureDendriteBuilt();
console.log(`Dendrite ${DENDRITE_VERSION} ready (${((Date.now() - started) / 1000).toFixed(1)} s)`);
