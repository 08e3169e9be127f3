#!/usr/bin/env bash
# Debian's Chromium for the Playwright browser tests (Playwright's own browser download is not
# used: the tests launch /usr/bin/chromium). Never fails the build: without Chromium the browser
# tests skip and say why.
set -uo pipefail

if [[ -x /usr/bin/chromium ]]; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "browser-deps: /usr/bin/chromium is missing and apt-get is not available; browser tests will skip"
    exit 0
fi
if [[ "$(id -u)" != "0" ]]; then
    echo "browser-deps: /usr/bin/chromium is missing; as root run: apt-get update && apt-get install -y chromium"
    echo "browser-deps: browser tests will skip until then"
    exit 0
fi
echo "browser-deps: installing Debian's chromium (apt-get)"
export DEBIAN_FRONTEND=noninteractive
if apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium fonts-wqy-microhei >/dev/null; then
    echo "browser-deps: $(/usr/bin/chromium --version 2>/dev/null || echo chromium installed)"
else
    echo "browser-deps: apt-get install chromium failed; browser tests will skip"
fi
exit 0
