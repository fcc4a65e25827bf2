#!/usr/bin/env bash
# Scanners on what is deployed: checkov (the project's pinned one, terraform/scripts/tools.sh) and
# kube-score (hack/tools.sh, from Go modules) over
#   1. the rendered chart: its defaults, and everything optional on with Terraform's helm_values;
#   2. the objects the operator renders for every example (hack/render-examples.ts: each run's Job and
#      headless Service, each service's Deployment, Service, HPA and spec.expose's Ingress or HTTPRoute),
#      and the GPU autoscaling example.
# Verdict (hack/scan/verdict.py): 0 failed, and every skip with its reason, inline (checkov.io/skipN
# annotations on the chart's Deployment) or in hack/scan/skips.yaml; a skip that no longer matches a
# finding fails too. No cluster.
#
#   hack/scan.sh      (make test-scan)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
HELM=${HELM:-$(hack/tools.sh path helm)}
KUBE_SCORE=${KUBE_SCORE:-$(hack/tools.sh path kube-score)}
ck=$(terraform/scripts/tools.sh checkov)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
skips=hack/scan/skips.yaml

everything=(--set metrics.serviceMonitor.enabled=true --set metrics.podMonitor.enabled=true
  --set metrics.prometheusRule.enabled=true --set dashboards.enabled=true --set namespaces.create=true
  --set kueue.enabled=true --set gatewayApi.enabled=true --set networkPolicy.enabled=true
  --set networkPolicy.workloads.enabled=true)
"$HELM" template lathe charts/lathe --namespace lathe-system >"$work/chart-defaults.yaml"
"$HELM" template lathe charts/lathe --namespace lathe-system -f charts/lathe/ci/terraform-values.yaml \
  "${everything[@]}" >"$work/chart-everything.yaml"
npx tsx hack/render-examples.ts examples/*.yaml docs/gpu-autoscaling/inferenceservice-gpu-autoscaling.yaml \
  >"$work/rendered.yaml"
echo "== rendered: chart $(grep -c '^kind:' "$work/chart-defaults.yaml") objects (defaults), $(grep -c '^kind:' "$work/chart-everything.yaml") (everything on); operator $(grep -c '^kind:' "$work/rendered.yaml") objects from the examples"

rc=0
scan_checkov() {
  local scope=$1
  shift
  # JSON for the verdict; checkov's own exit code is ignored in favour of it.
  "$ck/checkov" "$@" --framework kubernetes --skip-download -o json >"$work/checkov-$scope.json" 2>"$work/checkov-$scope.err" || true
  "$ck/python" hack/scan/verdict.py "$skips" checkov "$scope" "$work/checkov-$scope.json" || {
    tail -n 20 "$work/checkov-$scope.err" >&2
    rc=1
  }
}
scan_kube_score() {
  local scope=$1
  shift
  "$KUBE_SCORE" score --kubernetes-version v1.34 -o json "$@" >"$work/kube-score-$scope.json" || true
  "$ck/python" hack/scan/verdict.py "$skips" kube-score "$scope" "$work/kube-score-$scope.json" || rc=1
}

echo "== checkov $("$ck/checkov" --version)"
scan_checkov chart -f "$work/chart-defaults.yaml" -f "$work/chart-everything.yaml"
scan_checkov rendered -f "$work/rendered.yaml"
echo "== $("$KUBE_SCORE" version)"
scan_kube_score chart "$work/chart-defaults.yaml" "$work/chart-everything.yaml"
scan_kube_score rendered "$work/rendered.yaml"
exit $rc
