#!/usr/bin/env bash
# Every test of matrix-media-sw, on a fresh machine: installs what is missing (Debian's
# browsers and Go, npm packages, Synapse from PyPI, Dendrite and Toxiproxy from the Go module
# proxy), builds, then runs every suite and reports.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-browsers.sh
[ -d node_modules/@playwright/test ] || npm ci

rm -rf test-results
mkdir -p test-results
status=0
# The build first: tests import the package by name (dist/), types included.
npm run --silent build >/dev/null
npm run --silent typecheck
echo "== unit tests (vitest)"
npx vitest run --reporter=default --reporter=json --outputFile.json=test-results/unit.json || status=1
echo "== Synapse (installed from PyPI into .synapse/ where missing)"
npx tsx tests/synapse/prepare.ts
echo "== Dendrite (built with go install into .dendrite/ where missing)"
npx tsx tests/dendrite/prepare.ts
echo "== Toxiproxy (built with go install into .toxiproxy/ where missing)"
npx tsx tests/network/prepare.ts
echo "== browser tests (Playwright: Chromium and Firefox ESR; embedded homeserver, reliability suite, Synapse, Dendrite, network faults)"
npx playwright test || status=1
echo "== WebKitGTK (W3C WebDriver): scenarios, reliability suite, Dendrite"
npx vitest run --mode webkit --reporter=default --reporter=json --outputFile.json=test-results/webkit.json || status=1
echo "== reliability report"
node scripts/reliability-report.mjs || status=1
node scripts/summarize.mjs test-results/unit.json test-results/browser.json test-results/webkit.json || status=1
exit $status
