#!/usr/bin/env bash
# The local S3 server: MinIO, built from Go modules by hack/tools.sh.
#
#   hack/s3.sh up      start it (idempotent), create the buckets, write .cluster/s3.env
#   hack/s3.sh down    stop it and wait until it has exited
#
# .cluster/s3.env holds the standard AWS SDK variables, so the operator, the Python images and the
# AWS CLI all reach it without code of their own: `set -a; . .cluster/s3.env; set +a`.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
state=${LATHE_STATE_DIR:-$root/.cluster}
S3_PORT=${LATHE_S3_PORT:-19000}
# 127.0.0.1 unless the real node runs (hack/cluster.sh): then every address, so pods reach it on the
# bridge as LATHE_S3_POD_HOST (hack/node.sh admits only the loopback and the bridge to this port).
# A running server keeps the address it was started with unless one is asked for explicitly (the
# suites' `make s3-up` then leaves the cluster's server as it is); a different one restarts it.
S3_ADDRESS=${LATHE_S3_ADDRESS:-}
S3_POD_HOST=${LATHE_S3_POD_HOST-}
addrfile=$state/s3.address
ARTIFACT_BUCKET=lathe-artifacts
BUCKETS=${LATHE_LOCAL_S3_BUCKETS:-$ARTIFACT_BUCKET lathe-datasets}
# Local-only credentials of a server only the loopback (and, with the real node, the pods' bridge)
# can reach; nothing on EKS uses static keys.
ACCESS_KEY=lathe-local
SECRET_KEY=lathe-local-secret-key
pidfile=$state/pids/minio.pid

log() { printf '[s3] %s\n' "$*" >&2; }

running() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }

wait_ready() {
  for _ in $(seq 1 100); do
    curl -fsS "http://127.0.0.1:$S3_PORT/minio/health/ready" >/dev/null 2>&1 && return 0
    running || { tail -n 20 "$state/logs/minio.log" >&2; return 1; }
    sleep 0.1
  done
  log "MinIO did not become ready"; return 1
}

s3_put() {
  # A signed PUT (curl signs SigV4 itself); prints the HTTP status. A fresh MinIO can answer 503
  # for a moment after /minio/health/ready says ready (its object layer still starting): retried.
  local path=$1 code
  shift
  for _ in $(seq 1 50); do
    code=$(curl -s -o /dev/null -w '%{http_code}' -X PUT --aws-sigv4 "aws:amz:us-east-1:s3" \
      --user "$ACCESS_KEY:$SECRET_KEY" "$@" "http://127.0.0.1:$S3_PORT/$path")
    case $code in 503 | 000) sleep 0.2 ;; *) break ;; esac
  done
  echo "$code"
}

make_bucket() {
  # A 409 (already owned by you) is success.
  local code
  code=$(s3_put "$1")
  case $code in 200 | 409) ;; *) log "creating bucket $1 failed: HTTP $code"; return 1 ;; esac
}

version_bucket() {
  # Like the artifact bucket terraform/s3.tf makes: a delete leaves the old version recoverable.
  # (curl's SigV4 signs a PUT body only with its hash given as x-amz-content-sha256.)
  local body='<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Status>Enabled</Status></VersioningConfiguration>'
  local code
  code=$(s3_put "$1?versioning=" -H "x-amz-content-sha256: $(printf %s "$body" | sha256sum | cut -d' ' -f1)" \
    --data-binary "$body")
  [ "$code" = 200 ] || { log "turning on versioning for bucket $1 failed: HTTP $code"; return 1; }
}

up() {
  mkdir -p "$state/pids" "$state/logs" "$state/minio"
  local was_address='' was_pod_host=''
  # The address last asked for (by hack/cluster.sh), kept across `s3.sh down` and removed only by
  # `make cluster-down`: a plain `s3.sh up` keeps serving the pods of the real node.
  if [ -f "$addrfile" ]; then read -r was_address was_pod_host <"$addrfile" || true; fi
  if running && [ -n "$S3_ADDRESS" ] && [ "$S3_ADDRESS" != "$was_address" ]; then
    log "restarting MinIO to listen on $S3_ADDRESS (was ${was_address:-unknown})"
    down
  fi
  if [ -z "$S3_ADDRESS" ]; then
    S3_ADDRESS=$was_address
    [ -n "${LATHE_S3_POD_HOST+set}" ] || S3_POD_HOST=$was_pod_host
  fi
  S3_ADDRESS=${S3_ADDRESS:-127.0.0.1}
  echo "$S3_ADDRESS $S3_POD_HOST" >"$addrfile"
  if ! running; then
    local minio
    minio=$("$root/hack/tools.sh" path minio)
    MINIO_ROOT_USER=$ACCESS_KEY MINIO_ROOT_PASSWORD=$SECRET_KEY MINIO_BROWSER=off \
      MINIO_UPDATE=off MINIO_CI_CD=1 \
      setsid "$minio" server --quiet --address "$S3_ADDRESS:$S3_PORT" "$state/minio" \
      >"$state/logs/minio.log" 2>&1 </dev/null &
    echo $! >"$pidfile"
  fi
  wait_ready
  for b in $BUCKETS; do make_bucket "$b"; done
  case " $BUCKETS " in *" $ARTIFACT_BUCKET "*) version_bucket "$ARTIFACT_BUCKET" ;; esac
  cat >"$state/s3.env" <<EOF
AWS_ENDPOINT_URL_S3=http://127.0.0.1:$S3_PORT
AWS_ACCESS_KEY_ID=$ACCESS_KEY
AWS_SECRET_ACCESS_KEY=$SECRET_KEY
AWS_REGION=us-east-1
AWS_DEFAULT_REGION=us-east-1
LATHE_S3_BUCKET=$ARTIFACT_BUCKET
LATHE_S3_DATASET_BUCKET=lathe-datasets
EOF
  # Pods on the real node reach S3 on the bridge, with the keys from a Secret in their namespace
  # (the operator's LATHE_POD_ENV_SECRET; the demo and e2e create it). Never set on EKS (IRSA).
  if [ -n "$S3_POD_HOST" ]; then
    printf 'LATHE_POD_S3_ENDPOINT=http://%s:%s\nLATHE_POD_ENV_SECRET=lathe-s3-credentials\n' \
      "$S3_POD_HOST" "$S3_PORT" >>"$state/s3.env"
  fi
  log "MinIO on http://127.0.0.1:$S3_PORT (buckets: $BUCKETS); env in $state/s3.env"
}

down() {
  if running; then
    local pid
    pid=$(cat "$pidfile")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
}

case ${1:-} in
  up) up ;;
  down) down ;;
  *) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
