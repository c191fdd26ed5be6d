import { readFileSync, writeFileSync } from 'node:fs';
import { renderReport } from '/work/main/bench/report.js';
const results = JSON.parse(readFileSync('/work/main/bench/results/latest.json', 'utf8'));
const { markdown, svg } = renderReport(results);
writeFileSync('/work/main/bench/results/latest.md', markdown);
writeFileSync('/work/main/bench/results/latest.svg', svg);
