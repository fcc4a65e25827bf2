#!/usr/bin/env bash
# Installs the operator in the local cluster as a platform team installs it on EKS: `helm upgrade
# --install` of charts/lathe with the images `make images` loaded into the real node, two replicas
# with leader election on that node, under the chart's own RBAC.
#
#   hack/operator-install.sh [RELEASE [NAMESPACE [TRAINING-NAMESPACE...]]]   (lathe, lathe-system)
#   hack/operator-install.sh --uninstall [RELEASE [NAMESPACE]]
#
# What differs from EKS, and only here: the operator reaches S3 (MinIO) with the local keys from a
# Secret in its namespace through the chart's operator.extraEnv, and pods get the MinIO endpoint
# and the keys of the Secret `lathe-s3-credentials` in their namespace (aws.podS3Endpoint,
# aws.podEnvSecret); on EKS all of that is IRSA. Extra `helm` values may come in LATHE_HELM_VALUES
# (a file).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
state=${LATHE_STATE_DIR:-$root/.cluster}
export KUBECONFIG=${KUBECONFIG:-$state/kubeconfig}
PATH=$(dirname "$("$root/hack/tools.sh" path kubectl)"):$PATH
SECRET=lathe-s3-credentials

if [ "${1:-}" = --uninstall ]; then
  helm uninstall "${2:-lathe}" -n "${3:-lathe-system}" --wait --timeout 60s
  exit 0
fi
release=${1:-lathe}
namespace=${2:-lathe-system}
if [ $# -gt 2 ]; then shift 2; else set --; fi
[ -S "$state/node/containerd.sock" ] || { echo "the real node is not running: make cluster (and make images) first" >&2; exit 1; }
set -a
# shellcheck disable=SC1091
. "$state/s3.env"
set +a

# image: lathe.local/lathe-operator:local as the chart's registry / repository / tag.
image() { # key image
  local ref
  ref=$("$root/hack/images.sh" ref "$2")
  printf '%s:\n  image: {registry: "%s", repository: "%s", tag: "%s"}\n' "$1" "${ref%%/*}" \
    "$(basename "${ref%:*}")" "${ref##*:}"
}
values=$(mktemp)
trap 'rm -f "$values"' EXIT
{
  image trainer trainer
  image inference inference
  ref=$("$root/hack/images.sh" ref operator)
  printf 'image: {registry: "%s", repository: "%s", tag: "%s", pullPolicy: IfNotPresent}\n' \
    "${ref%%/*}" "$(basename "${ref%:*}")" "${ref##*:}"
  printf 'aws: {region: "%s", podS3Endpoint: "%s", podEnvSecret: "%s"}\n' "$AWS_REGION" "$LATHE_POD_S3_ENDPOINT" "$SECRET"
  printf 'trainingNamespaces: [%s]\n' "$(IFS=,; echo "$*")"
  cat <<EOF
operator:
  replicas: 2
  progressPollMs: ${LATHE_PROGRESS_POLL_MS:-1000}
  nodeSelector: {lathe.dev/node-pool: local}
  tolerations: [{key: lathe.dev/real-node, operator: Exists, effect: NoSchedule}]
  extraEnv:
  - {name: AWS_ENDPOINT_URL_S3, value: "$LATHE_POD_S3_ENDPOINT"}
  - {name: AWS_ACCESS_KEY_ID, valueFrom: {secretKeyRef: {name: $SECRET, key: AWS_ACCESS_KEY_ID}}}
  - {name: AWS_SECRET_ACCESS_KEY, valueFrom: {secretKeyRef: {name: $SECRET, key: AWS_SECRET_ACCESS_KEY}}}
EOF
} >"$values"

kubectl create namespace "$namespace" --dry-run=client -o yaml |
  kubectl label --local -f - pod-security.kubernetes.io/enforce=restricted -o yaml | kubectl apply -f - >/dev/null
kubectl create secret generic "$SECRET" -n "$namespace" --from-literal "AWS_ACCESS_KEY_ID=$AWS_ACCESS_KEY_ID" \
  --from-literal "AWS_SECRET_ACCESS_KEY=$AWS_SECRET_ACCESS_KEY" --dry-run=client -o yaml | kubectl apply -f - >/dev/null
extra=()
[ -n "${LATHE_HELM_VALUES:-}" ] && extra=(-f "$LATHE_HELM_VALUES")
helm upgrade --install "$release" "$root/charts/lathe" -n "$namespace" -f "$values" "${extra[@]}" --wait --timeout 180s
