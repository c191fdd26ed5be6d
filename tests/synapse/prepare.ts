// `npm test` runs this before the browser tests: install Synapse and migrate its template
// database up front, with progress on the console, rather than inside a test's time limit.
import { prepareSynapse, SYNAPSE_VERSION } from './synapse.js';

const started = Date.now();
await prepareSynapse();
console.log(`Synapse ${SYNAPSE_VERSION} ready (${((Date.now() - started) / 1000).toFixed(1)} s)`);
