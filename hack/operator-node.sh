#!/bin/sh
# Runs the built operator (dist/) the way its image does: the same node flags and malloc setting as
# operator/Dockerfile's ENTRYPOINT and ENV (why they are there is explained there; a unit test,
# operator/src/node-flags.test.ts, fails if the two drift apart). Extra node flags may come first:
#   hack/operator-node.sh [--cpu-prof ...]
root=$(cd "$(dirname "$0")/.." && pwd)
MALLOC_ARENA_MAX=2 exec node --max-semi-space-size=1 --optimize-for-size "$@" "$root/dist/operator/src/main.js"
