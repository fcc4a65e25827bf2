#!/usr/bin/env bash
# The browser of the console's tests: Debian's Chromium (package chromium), driven by playwright-core
# (an npm devDependency) over CDP. No browser build is downloaded: playwright's own downloads are not
# reachable here, and the Debian package is what a machine of this kind installs.
#
#   hack/browser.sh path    print the Chromium binary, installing the package when it is missing
set -euo pipefail
case "${1:-path}" in
  path)
    bin=${LATHE_CHROMIUM:-/usr/bin/chromium}
    if [ ! -x "$bin" ]; then
      if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        log=${TMPDIR:-/tmp}/lathe-chromium-apt.log
        "$(dirname "$0")/apt.sh" chromium >"$log" 2>&1 ||
          { tail -n 20 "$log" >&2; echo "apt-get install chromium failed (log: $log)" >&2; exit 1; }
      else
        echo "no Chromium at $bin: install Debian's chromium package (apt-get install chromium) or set LATHE_CHROMIUM" >&2
        exit 1
      fi
    fi
    echo "$bin"
    ;;
  *) echo "usage: hack/browser.sh path" >&2; exit 2 ;;
esac
