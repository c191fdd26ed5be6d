// Prints one closing line over every suite's JSON report: "tests: N passed, N failed, N skipped".
// Lists every skipped test with its reason. Exits non-zero when a report is missing, so a
// suite that never ran cannot pass unnoticed.
import { readFileSync } from 'node:fs';

let passed = 0;
let failed = 0;
let skipped = 0;
let missing = false;
const skipReasons = [];

function countPlaywright(suite, titles = []) {
  const path = suite.title && !suite.title.endsWith('.ts') ? [...titles, suite.title] : titles;
  for (const spec of suite.specs ?? []) {
    for (const test of spec.tests ?? []) {
      if (test.status === 'skipped') {
        skipped += 1;
        const reason = (test.annotations ?? []).find((a) => a.type === 'skip')?.description ?? 'no reason given';
        skipReasons.push(`  [${test.projectName}] ${[...path, spec.title].join(' › ')}\n      skipped: ${reason}`);
      }
      else if (test.status === 'expected' || test.status === 'flaky') passed += 1;
      else failed += 1;
    }
  }
  for (const child of suite.suites ?? []) countPlaywright(child, path);
}

for (const file of process.argv.slice(2)) {
  let report;
  try {
    report = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    console.error(`No report at ${file}: that suite did not run to the end.`);
    missing = true;
    continue;
  }
  if ('numPassedTests' in report) {
    // vitest
    passed += report.numPassedTests;
    failed += report.numFailedTests;
    skipped += report.numPendingTests + (report.numTodoTests ?? 0);
  } else {
    for (const suite of report.suites ?? []) countPlaywright(suite);
  }
}

if (skipReasons.length > 0) console.log(`Skipped, each with its reason:\n${skipReasons.join('\n')}`);
console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(missing || failed > 0 || passed === 0 ? 1 : 0);
