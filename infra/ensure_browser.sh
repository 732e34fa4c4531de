#!/usr/bin/env bash
# The browser tests drive Debian's headless Chromium; install it (with CJK fonts) when missing.
set -euo pipefail
if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
  echo "installing chromium, chromium-driver and fonts-noto-cjk for the browser tests" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq chromium chromium-driver fonts-noto-cjk >/dev/null
  exit 0
fi
echo "The browser tests need headless Chromium: sudo apt-get install chromium chromium-driver" \
     "fonts-noto-cjk (or run: make test PYTEST_ARGS='-m \"not browser\"')" >&2
exit 1
