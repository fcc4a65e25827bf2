#!/usr/bin/env bash
# Runs the operator in the background against the local cluster, for `make demo`: CRDs applied,
# settings pointing at the local S3, logs in .cluster/logs/operator.log, stopped by cluster-down.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
state=$root/.cluster
port=${LATHE_DEMO_METRICS_PORT:-18080}
pidfile=$state/pids/operator.pid
export KUBECONFIG=$state/kubeconfig

"$root/hack/crds-apply.sh"
if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
  echo "[operator] already running (pid $(cat "$pidfile"))"
  exit 0
fi
set -a
. "$state/s3.env"
set +a
# With the real node, pods run the images `make images` loaded there.
if [ -S "$state/node/containerd.sock" ]; then
  LATHE_TRAINER_IMAGE=$("$root/hack/images.sh" ref trainer) LATHE_INFERENCE_IMAGE=$("$root/hack/images.sh" ref inference)
  export LATHE_TRAINER_IMAGE LATHE_INFERENCE_IMAGE
fi
LATHE_METRICS_PORT=$port LATHE_LEASE_NAMESPACE=default LATHE_PROGRESS_POLL_MS=1000 LATHE_LOG_LEVEL=${LATHE_LOG_LEVEL:-info} \
  setsid "$root/hack/operator-node.sh" >"$state/logs/operator.log" 2>&1 </dev/null &
echo $! >"$pidfile"
for _ in $(seq 1 150); do
  curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && { echo "[operator] running (pid $(cat "$pidfile")), metrics on :$port, logs in .cluster/logs/operator.log"; exit 0; }
  kill -0 "$(cat "$pidfile")" 2>/dev/null || { tail -n 30 "$state/logs/operator.log" >&2; exit 1; }
  sleep 0.2
done
echo "[operator] not ready after 30s" >&2
tail -n 30 "$state/logs/operator.log" >&2
exit 1
