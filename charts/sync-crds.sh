#!/usr/bin/env bash
# Copies the generated CRDs (crds/, from `make crds`) into the chart's crds/ directory, which Helm
# installs before the templates and never deletes. Run it after every schema change; the chart test
# (test/chart/chart.test.ts, via charts/test.sh) fails while the copies differ.
#   charts/sync-crds.sh          copy
#   charts/sync-crds.sh --check  exit 1 when the chart's copies are stale (copies nothing)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
src=$root/crds
dst=$root/charts/lathe/crds
check=false
[ "${1:-}" = "--check" ] && check=true

shopt -s nullglob
srcs=("$src"/*.yaml)
[ ${#srcs[@]} -gt 0 ] || { echo "sync-crds: no CRDs in $src" >&2; exit 1; }

stale=0
for f in "${srcs[@]}"; do
  name=$(basename "$f")
  if ! cmp -s "$f" "$dst/$name"; then
    stale=1
    if $check; then echo "sync-crds: charts/lathe/crds/$name differs from crds/$name" >&2
    else mkdir -p "$dst" && cp "$f" "$dst/$name" && echo "sync-crds: copied crds/$name"; fi
  fi
done
# A CRD removed from crds/ must leave the chart too.
for f in "$dst"/*.yaml; do
  name=$(basename "$f")
  if [ ! -e "$src/$name" ]; then
    stale=1
    if $check; then echo "sync-crds: charts/lathe/crds/$name has no source in crds/" >&2
    else rm -f "$f" && echo "sync-crds: removed charts/lathe/crds/$name"; fi
  fi
done
if $check && [ $stale -ne 0 ]; then
  echo "sync-crds: run charts/sync-crds.sh" >&2
  exit 1
fi
exit 0
