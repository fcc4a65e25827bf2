#!/usr/bin/env bash
# Prints the path of the Python virtual environment that runs the trainer's and the inference
# server's test suites, creating it first if needed. It lives outside the repository, keyed by the
# Python version and the hash of every requirements file, so a second run is instant and a changed
# pin builds a fresh one beside the old.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${LATHE_CACHE:-$HOME/.cache/lathe}
PYTHON=${PYTHON:-python3}
reqs=()
for f in "$root"/trainer-image/requirements*.txt "$root"/inference-image/requirements*.txt; do
  [ -f "$f" ] && reqs+=("$f")
done
pyver=$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
shopt -s nullglob
extra=("$root"/*-image/pip-install.sh)
shopt -u nullglob
hash=$(cat "$0" "${reqs[@]}" "${extra[@]}" | sha256sum | cut -c1-12)
venv=$CACHE/venv/py$pyver-$hash
# Two suites (or two shells) may ask at once: one builds, the other waits on the lock.
mkdir -p "$CACHE/venv"
exec 9>"$venv.lock"
flock 9
# Built in place and marked ready only at the end: a venv can't be moved (its scripts name their
# interpreter by absolute path), so an interrupted build is detected by the missing marker instead.
if [ ! -f "$venv/.ready" ]; then
  start=$SECONDS
  rm -rf "$venv"
  "$PYTHON" -m venv "$venv" >&2
  "$venv/bin/pip" install -q --upgrade pip >&2
  # An image may keep an install script beside its requirements for what pip's resolver can't
  # express (e.g. a CPU-only torch); those run first.
  for f in "$root"/trainer-image/pip-install.sh "$root"/inference-image/pip-install.sh; do
    [ -f "$f" ] && VENV="$venv" bash "$f" >&2
  done
  args=()
  for f in "${reqs[@]}"; do args+=(-r "$f"); done
  [ ${#args[@]} -eq 0 ] || "$venv/bin/pip" install -q "${args[@]}" >&2
  touch "$venv/.ready"
  echo "[python-env] created $venv in $((SECONDS - start))s" >&2
fi
echo "$venv"
