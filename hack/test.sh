#!/usr/bin/env bash
# `make test`: every test of the project, in the order that keeps a cold run short.
#
# The slow part of a fresh machine is building the control plane from Go modules (CPU-bound) and
# creating the Python venv (network-bound); both start at once in the background while the static
# checks and unit tests run, then the local cluster comes up for the suites that need it. The
# cluster is always stopped at the end, and the run fails if any process of it is left behind.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export KUBECONFIG=$root/.cluster/kubeconfig
CACHE=${LATHE_CACHE:-$HOME/.cache/lathe}
logs=$root/.cluster/test-logs
mkdir -p "$logs"
# Parts of a suite that could not run append "name (why)" here (terraform validate without the
# provider, the Lua health checks without Lua): the summary lists them as skipped, never as passed.
export LATHE_TEST_SKIPS=$logs/skips
: >"$LATHE_TEST_SKIPS"

passed=()
failed=()
skipped=()
t_start=$SECONDS

banner() { printf '\n==== %s ====\n' "$*"; }

# suite NAME COMMAND...: run one suite, remember its result, never stop the whole run.
suite() {
  local name=$1 t0=$SECONDS
  shift
  banner "$name"
  if "$@"; then
    passed+=("$name")
    printf -- '---- %s passed in %ss\n' "$name" "$((SECONDS - t0))"
  else
    failed+=("$name")
    printf -- '---- %s FAILED in %ss\n' "$name" "$((SECONDS - t0))"
  fi
}

cleanup() {
  banner "cluster-down"
  hack/cluster.sh down || true
  # `make cluster-down` must leave nothing behind: no process from the tool cache (control plane,
  # kwok, MinIO, the node's daemons), no container shim, and none of the real node's network
  # interfaces, iptables chains, mounts or cgroups (hack/node.sh leaks lists what it finds).
  if hack/node.sh leaks; then
    passed+=("cluster-down-leaves-nothing")
  else
    failed+=("cluster-down-leaves-nothing")
  fi
  while IFS= read -r line; do [ -n "$line" ] && skipped+=("$line"); done <"$LATHE_TEST_SKIPS"
  banner "summary ($((SECONDS - t_start))s)"
  for s in "${passed[@]}"; do echo "  passed  $s"; done
  for s in "${failed[@]}"; do echo "  FAILED  $s"; done
  for s in "${skipped[@]}"; do echo "  SKIPPED $s"; done
  echo "suites: ${#passed[@]} passed, ${#failed[@]} failed, ${#skipped[@]} skipped"
  [ ${#failed[@]} -eq 0 ]
}

banner "dependencies"
make -s deps || { echo "npm ci failed"; exit 1; }
# The real node (real pods from the images built here) where the machine allows; otherwise the
# suites run on the kwok nodes alone and the summary says that the real-pods suite did not run.
real_node=true
node_why=$(hack/node.sh check) || real_node=false
echo "$node_why"
# Builds in the background; their logs are replayed only when they fail.
if $real_node; then
  hack/tools.sh ensure kubectl minio etcd kwok kubernetes node kueue >"$logs/tools.log" 2>&1 &
  tools_pid=$!
  # The images (the torch stack is several GB: built once per machine, then a cache hit).
  hack/images.sh build >"$logs/images.log" 2>&1 &
  images_pid=$!
  # Debian's Chromium for the console's browser tests (test/real/plugin.test.ts installs it too, if
  # this has not finished; a failure shows there, with apt's words).
  hack/browser.sh path >"$logs/browser.log" 2>&1 &
else
  hack/tools.sh ensure kubectl minio etcd kwok kubernetes kueue >"$logs/tools.log" 2>&1 &
  tools_pid=$!
fi
hack/python-env.sh >"$logs/python-env.log" 2>&1 &
pyenv_pid=$!
# terraform (built only where none >= 1.6 is on PATH), checkov and the HCL-test venvs: also slow
# on a fresh machine, also independent of everything before terraform/test.sh.
(terraform/scripts/tools.sh terraform && terraform/scripts/tools.sh checkov && terraform/scripts/tools.sh pytest) \
  >"$logs/terraform-tools.log" 2>&1 &
tftools_pid=$!
# promtool and kube-score for the observability and scan suites: apart from the cluster's tools, so
# that a failed build fails those two suites (which then try once more) rather than the whole run.
hack/tools.sh ensure checks >"$logs/checks-tools.log" 2>&1 &
checks_pid=$!

suite lint npx eslint .
suite typecheck npx tsc -p tsconfig.json --noEmit
# The e2e suite and the demo run the compiled operator, as the container does.
suite build npx tsc -p tsconfig.build.json
suite crds-fresh npx tsx operator/src/api/generate-crds.ts --check
suite unit npx vitest run --project unit
suite chart-static charts/test.sh static

banner "waiting for tool builds and the Python venv"
t_wait=$SECONDS
wait "$tools_pid" || { cat "$logs/tools.log"; echo "tool builds failed"; failed+=(tools); cleanup; exit 1; }
cat "$logs/tools.log"
wait "$pyenv_pid" || { cat "$logs/python-env.log"; failed+=(python-env); }
cat "$logs/python-env.log"
# terraform/test.sh reports its own tool failures; this wait only keeps the CPU order sensible.
wait "$tftools_pid" || cat "$logs/terraform-tools.log"
echo "waited $((SECONDS - t_wait))s"

# No cluster needed, but promtool, kube-score and checkov from the builds above.
wait "$checks_pid" || cat "$logs/checks-tools.log"
suite observability hack/observability.sh
suite scan hack/scan.sh

trap 'cleanup; exit 1' INT TERM
suite cluster-up hack/cluster.sh up
if [[ " ${failed[*]} " == *" cluster-up "* ]]; then cleanup; exit 1; fi

export PATH
PATH=$(dirname "$(hack/tools.sh path kubectl)"):$PATH
set -a
# shellcheck disable=SC1091
. .cluster/s3.env
set +a

suite integration npx vitest run --project integration
suite e2e npx vitest run --project e2e
# A short seeded round of faults (operator and leader kills, kube-apiserver restart, etcd
# compaction, S3 outage, a second writer, a deleted Job); `make chaos` runs the full one.
suite chaos npx vitest run --project chaos
# A fixed-seed thousand fuzzed objects against the API server and the operator (test/fuzz).
suite fuzz npx vitest run --project fuzz
if $real_node; then
  banner "waiting for the image builds"
  wait "$images_pid" && passed+=(images) || failed+=(images)
  cat "$logs/images.log"
  suite images-load hack/images.sh load
  suite real-pods npx vitest run --project real
  # The same e2e suite again, against the operator installed in the cluster with the chart.
  # (Its release name differs from the e2e suite's own "lathe-e2e", whose RBAC that suite applies
  # without Helm: Helm refuses to adopt objects it did not create.)
  suite e2e-in-cluster bash -c 'LATHE_PROGRESS_POLL_MS=500 hack/operator-install.sh lathe-in-cluster lathe-in-cluster >/dev/null &&
    LATHE_E2E_OPERATOR=external npx vitest run --project e2e --exclude test/e2e/kueue.test.ts; rc=$?
    echo "e2e-in-cluster: kueue.test.ts (it needs the operator with LATHE_KUEUE beside its own Kueue; it ran in e2e)" >>"$LATHE_TEST_SKIPS"
    hack/operator-install.sh --uninstall lathe-in-cluster lathe-in-cluster >/dev/null; exit $rc'
else
  skipped+=("real-pods (${node_why#real node: })")
fi
suite chart-cluster charts/test.sh cluster
suite trainer make -s test-trainer
suite inference make -s test-inference
suite terraform terraform/test.sh

cleanup
