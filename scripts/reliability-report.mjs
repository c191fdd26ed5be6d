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
let failed = 0;
let leaks = 0;
const NAMES = { chromium: 'Chromium', firefox: 'Firefox ESR', webkit: 'WebKitGTK' };
const totals = Object.fromEntries(ENGINES.map((e) => [e, { scenarios: 0, passed: 0, skipped: [], requests: 0, leaks: 0, faults: 0, survived: 0 }]));
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
  const total = totals[result.engine];
  total.scenarios += 1;
  if (result.status === 'passed') total.passed += 1;
  if (result.status === 'skipped') total.skipped.push(reasons.indexOf(result.skipReason ?? 'no reason given') + 1);
  total.requests += result.requests;
  total.leaks += result.leaks;
  total.faults += result.faults;
  if (result.status === 'passed') total.survived += result.faults;
  leaks += result.leaks;
  if (cell === 'FAIL') failed += 1;
}

const lines = ['| scenario | Chromium | Firefox ESR | WebKitGTK |', '| --- | --- | --- | --- |'];
for (const [title, cells] of [...rows.entries()].sort(([a], [b]) => a.localeCompare(b))) {
  lines.push(`| ${title} | ${ENGINES.map((engine) => cells[engine] ?? 'not run').join(' | ')} |`);
}
console.log(lines.join('\n'));
console.log('');
reasons.forEach((reason, i) => console.log(`[${i + 1}] ${reason}`));
console.log('');
// Per engine: the figures the suite is judged by (every scenario is written once, tests/scenarios/reliability/).
const summary = ['| engine | scenarios | run | passed | skipped | requests sent | tokens leaked | faults injected | survived |', '| --- | --- | --- | --- | --- | --- | --- | --- | --- |'];
for (const engine of ENGINES) {
  const t = totals[engine];
  const skipped = t.skipped.length ? `${t.skipped.length} (${t.skipped.map((i) => `[${i}]`).join(' ')})` : '0';
  summary.push(`| ${NAMES[engine]} | ${t.scenarios} | ${t.scenarios - t.skipped.length} | ${t.passed} | ${skipped} | ${t.requests} | ${t.leaks} | ${t.faults} | ${t.survived} |`);
}
console.log(summary.join('\n'));
console.log('');
console.log(ENGINES.map((e) => `${NAMES[e]} ${totals[e].passed}/${totals[e].scenarios} passed, ${totals[e].skipped.length} skipped, ${totals[e].leaks} tokens leaked, ${totals[e].survived}/${totals[e].faults} faults survived`).join('; ') + '.');
process.exit(failed > 0 || leaks > 0 ? 1 : 0);
