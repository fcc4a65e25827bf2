#!/usr/bin/env bash
# Applies crds/ to $KUBECONFIG's cluster and waits until both kinds are served: what an operator run
# out of the cluster (`make operator`, `make demo`) needs first. Server-side, so re-running is a no-op.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
export KUBECONFIG=${KUBECONFIG:-$root/.cluster/kubeconfig}
kubectl=$("$root/hack/tools.sh" path kubectl)
"$kubectl" apply --server-side --force-conflicts --field-manager=lathe-local -f "$root/crds" >/dev/null
"$kubectl" wait --for=condition=Established --timeout=60s crd/trainingruns.lathe.dev crd/inferenceservices.lathe.dev >/dev/null
