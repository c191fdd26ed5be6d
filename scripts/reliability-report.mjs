// Prints the reliability report: every scenario × engine (pass, FAIL, or skipped with its
// reason), then the totals. Reads the figures each test wrote to test-results/reliability/.
// Exits non-zero on a failure or a leaked token.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const DIR = 'test-results/reliability';
const ENGINES = ['chromium', 'firefox', 'webkit'];

let files = [];
try {
  files = readdirSync(DIR).filter((f) => f.endsWith('.json'));
} catch {
  // no results at all
}
if (files.length === 0) {
  console.error(`No reliability results in ${DIR}: the suite did not run.`);
  process.exit(1);
}

const rows = new Map();
const reasons = [];
let requests = 0;
let leaks = 0;
let faults = 0;
let survived = 0;
let failed = 0;
for (const file of files) {
  const result = JSON.parse(readFileSync(join(DIR, file), 'utf8'));
  if (!rows.has(result.title)) rows.set(result.title, {});
  let cell = result.status === 'passed' ? 'pass' : result.status === 'skipped' ? 'skipped' : 'FAIL';
  if (cell === 'skipped') {
    let index = reasons.indexOf(result.skipReason ?? 'no reason given');
    if (index < 0) index = reasons.push(result.skipReason ?? 'no reason given') - 1;
    cell = `skipped [${index + 1}]`;
  }
  for (const note of result.notes ?? []) {
    let index = reasons.indexOf(note);
    if (index < 0) index = reasons.push(note) - 1;
    cell += ` [${index + 1}]`;
  }
  rows.get(result.title)[result.engine] = cell;
  requests += result.requests;
  leaks += result.leaks;
  faults += result.faults;
  if (result.status === 'passed') survived += result.faults;
  if (cell === 'FAIL') failed += 1;
}

const lines = ['| scenario | Chromium | Firefox ESR | WebKitGTK |', '| --- | --- | --- | --- |'];
for (const [title, cells] of [...rows.entries()].sort(([a], [b]) => a.localeCompare(b))) {
  lines.push(`| ${title} | ${ENGINES.map((engine) => cells[engine] ?? 'not run').join(' | ')} |`);
}
console.log(lines.join('\n'));
console.log('');
reasons.forEach((reason, i) => console.log(`[${i + 1}] ${reason}`));
console.log('"not run" in the WebKit column: WebKit runs the core scenarios only (tests/webkit/), over W3C WebDriver.');
console.log('');
console.log(`Requests sent to the servers: ${requests}. Tokens leaked: ${leaks}. Faults injected: ${faults}, survived: ${survived}.`);
process.exit(failed > 0 || leaks > 0 ? 1 : 0);
