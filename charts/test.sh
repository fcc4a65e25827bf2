#!/usr/bin/env bash
# Tests of the Helm chart (charts/lathe) and the examples.
#   charts/test.sh           static checks, then the cluster checks (fails if $KUBECONFIG is unreachable)
#   charts/test.sh static    helm lint --strict, helm template assertions, CRD copies, Argo CD Lua checks
#   charts/test.sh cluster   helm install/uninstall, RBAC via `kubectl auth can-i`, examples --dry-run=server
# The assertions live in test/chart/chart.test.ts (vitest, its own config: test/chart/vitest.config.ts).
# KUBECONFIG defaults to the local cluster of `make cluster`.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
mode=${1:-all}
case $mode in all | static | cluster) ;; *) echo "usage: $0 [all|static|cluster]" >&2; exit 2 ;; esac

HELM=${HELM:-$(hack/tools.sh path helm)}
KUBECTL=${KUBECTL:-$(hack/tools.sh path kubectl)}
export HELM KUBECTL
export KUBECONFIG=${KUBECONFIG:-$root/.cluster/kubeconfig}

# The Argo CD health checks are Lua; run them when an interpreter is there or can be installed.
# Without one their case is skipped, and make test's summary says so (LATHE_TEST_SKIPS).
if [ "$mode" != cluster ] && ! command -v lua5.4 >/dev/null && ! command -v lua >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get install -y -qq -o DPkg::Lock::Timeout=120 lua5.4 >"${TMPDIR:-/tmp}/lathe-lua-install.log" 2>&1 ||
      { echo "charts/test.sh: could not install lua5.4:"; tail -n 5 "${TMPDIR:-/tmp}/lathe-lua-install.log"; }
  fi
  if ! command -v lua5.4 >/dev/null && ! command -v lua >/dev/null; then
    echo "charts/test.sh: no Lua interpreter; the Lua health-check cases are SKIPPED (apt-get install lua5.4)"
    if [ -n "${LATHE_TEST_SKIPS:-}" ]; then echo "argocd-lua-health-checks (no Lua interpreter; apt-get install lua5.4)" >>"$LATHE_TEST_SKIPS"; fi
  fi
fi

if [ "$mode" != cluster ]; then
  echo "== helm lint --strict (defaults and Terraform's helm_values)"
  "$HELM" lint --strict charts/lathe
  for f in charts/lathe/ci/*-values.yaml; do "$HELM" lint --strict charts/lathe -f "$f" >/dev/null; done
  # Everything optional on: the ServiceMonitor, PodMonitor, PrometheusRule and dashboards ConfigMap.
  "$HELM" lint --strict charts/lathe --set metrics.serviceMonitor.enabled=true --set metrics.podMonitor.enabled=true \
    --set metrics.prometheusRule.enabled=true --set dashboards.enabled=true >/dev/null
  echo "== chart CRDs in sync with crds/"
  charts/sync-crds.sh --check
fi

if [ "$mode" != static ]; then
  if ! "$KUBECTL" version --request-timeout=10s >/dev/null 2>&1; then
    echo "charts/test.sh: no cluster at KUBECONFIG=$KUBECONFIG (run \`make cluster\`)" >&2
    exit 1
  fi
  export CHART_TEST_CLUSTER=1
fi

echo "== vitest (test/chart/chart.test.ts)"
if [ "$mode" = cluster ]; then
  # A name filter that matches nothing (a renamed describe) would pass with zero tests: count them.
  report=$(mktemp)
  rc=0
  npx vitest run --config test/chart/vitest.config.ts -t "on the cluster" --reporter=default --reporter=json --outputFile="$report" || rc=$?
  ran=$(node -e 'const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); console.log(r.numPassedTests + r.numFailedTests)' "$report")
  rm -f "$report"
  if [ "$ran" -eq 0 ]; then
    echo "charts/test.sh: the filter \"on the cluster\" selected no test (renamed?)" >&2
    exit 1
  fi
  exit "$rc"
fi
exec npx vitest run --config test/chart/vitest.config.ts
