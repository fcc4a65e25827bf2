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
if ! command -v lua5.4 >/dev/null && ! command -v lua >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get install -y -qq lua5.4 >/dev/null 2>&1 || echo "charts/test.sh: could not install lua5.4; the Lua health-check cases will be skipped"
  else
    echo "charts/test.sh: no Lua interpreter; the Lua health-check cases will be skipped (apt-get install lua5.4)"
  fi
fi

if [ "$mode" != cluster ]; then
  echo "== helm lint --strict (defaults and Terraform's helm_values)"
  "$HELM" lint --strict charts/lathe
  for f in charts/lathe/ci/*-values.yaml; do "$HELM" lint --strict charts/lathe -f "$f" >/dev/null; done
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
  exec npx vitest run --config test/chart/vitest.config.ts -t "on the cluster"
fi
exec npx vitest run --config test/chart/vitest.config.ts
