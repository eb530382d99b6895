#!/usr/bin/env bash
# Debian's chromium for the browser tests (tests/test_browser*.py): Playwright's own browser download cannot
# work here, so the tests drive the distribution's build. Installs it with apt-get when /usr/bin/chromium is
# missing. Without it the browser tests skip on a developer's machine; under CI (CI set) this fails instead,
# so a green CI always means the browser tests ran.
set -euo pipefail
CHROMIUM=/usr/bin/chromium

[[ -x $CHROMIUM ]] && exit 0

refuse() {
    echo "install_chromium: $1" >&2
    echo "install_chromium: install Debian's 'chromium' package (apt-get install chromium) to run the browser tests" >&2
    if [[ -n ${CI:-} ]]; then
        echo "install_chromium: CI is set, so the browser tests may not be skipped: failing" >&2
        exit 1
    fi
    echo "install_chromium: the browser tests will be skipped" >&2
    exit 0
}

command -v apt-get >/dev/null || refuse "$CHROMIUM is missing and apt-get is not available"
[[ $(id -u) == 0 ]] || refuse "$CHROMIUM is missing and installing it needs root"

echo "install_chromium: $CHROMIUM is missing: apt-get install chromium (a few minutes, once)" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq || refuse "apt-get update failed"
# fonts-dejavu-core: screenshots show text rather than empty boxes on a machine without any font.
apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null \
    || refuse "apt-get install chromium failed"
[[ -x $CHROMIUM ]] || refuse "apt-get installed chromium but $CHROMIUM is still missing"
