#!/usr/bin/env bash
# Installs Debian's Chromium for the browser tests (tests/test_web.py), if it is missing.
# Idempotent; needs root for apt-get. Playwright (PyPI, in the dev extra) drives it through
# executable_path=/usr/bin/chromium: never `playwright install`, which downloads browsers.
set -euo pipefail
fail() { echo "browser-setup: error: $*" >&2; exit 1; }

if [ -x /usr/bin/chromium ]; then
  echo "browser-setup: $(/usr/bin/chromium --version 2>/dev/null || echo chromium) already installed"
  exit 0
fi
[ "$(id -u)" = 0 ] || fail "/usr/bin/chromium is missing; run this script as root to install it"
echo "browser-setup: installing chromium with apt-get"
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -q chromium >/dev/null 2>&1 \
  || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q chromium >/dev/null 2>&1; } \
  || fail "cannot install chromium with apt-get"
[ -x /usr/bin/chromium ] || fail "apt-get installed chromium but /usr/bin/chromium is missing"
echo "browser-setup: $(/usr/bin/chromium --version 2>/dev/null || echo chromium) installed"
