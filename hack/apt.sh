#!/usr/bin/env bash
# Installs Debian packages for the local environment (the real node's, the image builder's, the
# console tests' Chromium). `make test` installs some of them in parallel (Chromium in the background
# while the images build), and two apt-gets at once fail: apt's own lock timeout covers only dpkg's
# lock, not `apt-get update`'s lists lock ("Could not get lock /var/lib/apt/lists/lock"). So every
# install takes one lock of ours first, and waits for apt's locks too when something outside Lathe
# (unattended-upgrades) holds them.
#
#   hack/apt.sh PACKAGE...
set -euo pipefail
[ $# -gt 0 ] || { echo "usage: hack/apt.sh PACKAGE..." >&2; exit 2; }
exec 9>/run/lock/lathe-apt.lock
flock -w 900 9 || { echo "waited 15 minutes for another Lathe apt-get to finish" >&2; exit 1; }
wait_lock=(-o DPkg::Lock::Timeout=600)
apt-get "${wait_lock[@]}" update -qq
DEBIAN_FRONTEND=noninteractive apt-get "${wait_lock[@]}" install -y -qq "$@"
