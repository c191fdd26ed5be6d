#!/usr/bin/env bash
# Installs the Debian packages the tests drive, where missing: Chromium, Firefox ESR, and
# WebKitGTK's WebDriver with a virtual X server; nginx and Caddy, which run the README's
# server rules; Go and a C compiler, which build Dendrite. Never downloads a browser of its own.
set -euo pipefail

# binary → Debian package
declare -A NEEDED=(
  [/usr/bin/chromium]=chromium
  [/usr/bin/firefox-esr]=firefox-esr
  [/usr/bin/WebKitWebDriver]=webkit2gtk-driver
  [/usr/bin/xvfb-run]=xvfb
  [/usr/sbin/nginx]=nginx-light
  [/usr/bin/caddy]=caddy
)

missing=()
for binary in "${!NEEDED[@]}"; do
  [ -x "$binary" ] || missing+=("${NEEDED[$binary]}")
done
# Dendrite is built with `go install` (CGO, for SQLite): any Go on the PATH or in /usr/local/go will do.
command -v go >/dev/null || [ -x /usr/local/go/bin/go ] || missing+=(golang-go)
command -v gcc >/dev/null || missing+=(gcc)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
  echo "Installing Debian packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
else
  echo "The browser tests need Debian's ${missing[*]}. Install them first:" >&2
  echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
