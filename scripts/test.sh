#!/usr/bin/env bash
# Every test of matrix-media-sw, on a fresh machine: installs what is missing (Debian's
# browsers, npm packages, Synapse from PyPI), builds, then runs the unit and browser suites.
# Never downloads a browser of its own: Playwright drives the Debian packages.
set -euo pipefail
cd "$(dirname "$0")/.."

# binary → Debian package
declare -A NEEDED=(
  [/usr/bin/chromium]=chromium
  [/usr/bin/firefox-esr]=firefox-esr
)

missing=()
for binary in "${!NEEDED[@]}"; do
  [ -x "$binary" ] || missing+=("${NEEDED[$binary]}")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    echo "Installing Debian packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "The browser tests need Debian's ${missing[*]}. Install them first:" >&2
    echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi

[ -d node_modules/@playwright/test ] || npm ci

mkdir -p test-results
status=0
npm run --silent typecheck
npm run --silent build >/dev/null
echo "== unit tests (vitest)"
npx vitest run --reporter=default --reporter=json --outputFile.json=test-results/unit.json || status=1
echo "== Synapse (installed from PyPI into .synapse/ where missing)"
npx tsx tests/synapse/prepare.ts
echo "== browser tests (Playwright: Chromium and Firefox ESR, against the embedded homeserver and Synapse)"
npx playwright test || status=1
node scripts/summarize.mjs test-results/unit.json test-results/browser.json || status=1
exit $status
