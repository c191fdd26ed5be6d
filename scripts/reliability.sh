#!/usr/bin/env bash
# npm run test:reliability: the suite that tries to break the worker (tests/scenarios/reliability/),
# in Chromium and Firefox ESR (Playwright) and WebKitGTK (W3C WebDriver), then its report.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-browsers.sh
[ -d node_modules/@playwright/test ] || npm ci
npm run --silent build >/dev/null
rm -rf test-results/reliability
status=0
npx playwright test --project=reliability-chromium --project=reliability-firefox || status=1
npx vitest run --mode webkit || status=1
node scripts/reliability-report.mjs || status=1
exit $status
