#!/usr/bin/env bash
# The local environment: a real Kubernetes control plane (etcd, kube-apiserver with RBAC and Pod
# Security admission, kube-controller-manager, kube-scheduler) with GPU nodes simulated by kwok, a
# real node that runs containers (hack/node.sh: kubelet, containerd, CNI, kube-proxy, CoreDNS) where
# the machine allows it, and a local S3 server (hack/s3.sh). Everything runs as plain processes
# under .cluster/.
#
#   hack/cluster.sh up       build what is missing, start what is not running (idempotent)
#   hack/cluster.sh down     stop every process it started and forget the cluster's data
#   hack/cluster.sh status   show which components are running
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
state=${LATHE_STATE_DIR:-$root/.cluster}
ETCD_PORT=${LATHE_ETCD_PORT:-12379}
ETCD_PEER_PORT=${LATHE_ETCD_PEER_PORT:-12380}
API_PORT=${LATHE_APISERVER_PORT:-16443}
KWOK_PORT=${LATHE_KWOK_PORT:-16444}
POD_CIDR=10.244.0.0/16
pki=$state/pki
tools=$root/hack/tools.sh
node=$root/hack/node.sh
# Where pods reach the host (the API server, S3, DNS) when the real node runs: hack/node.sh's bridge.
NODE_HOST_IP=10.222.0.1
components=(kwok kube-scheduler kube-controller-manager kube-apiserver etcd)

log() { printf '[cluster] %s\n' "$*" >&2; }
# shellcheck source=hack/lib.sh
. "$root/hack/lib.sh"

wait_for() {
  local what=$1 name=$2 tries=$3
  shift 3
  for _ in $(seq 1 "$tries"); do
    "$@" >/dev/null 2>&1 && return 0
    running "$name" || { log "$name exited:"; tail -n 30 "$state/logs/$name.log" >&2; return 1; }
    sleep 0.2
  done
  log "timed out waiting for $what"
  tail -n 30 "$state/logs/$name.log" >&2
  return 1
}

# A small PKI like kubeadm's: one CA, the API server's serving cert, a client cert per component
# (so RBAC sees each under its own well-known name) and the service-account signing key.
make_pki() {
  # .done-2: the serving cert names the bridge address too (pods' kube-proxy endpoint).
  [ -f "$pki/.done-2" ] && return 0
  rm -rf "$pki"
  mkdir -p "$pki"
  (
    cd "$pki"
    openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 3650 \
      -subj "/CN=lathe-local-ca" >/dev/null 2>&1
    cat >apiserver.ext <<EOF
subjectAltName=DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,IP:127.0.0.1,IP:10.96.0.1,IP:$NODE_HOST_IP
extendedKeyUsage=serverAuth
EOF
    openssl req -newkey rsa:2048 -nodes -keyout apiserver.key -out apiserver.csr \
      -subj "/CN=kube-apiserver" >/dev/null 2>&1
    openssl x509 -req -in apiserver.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 \
      -extfile apiserver.ext -out apiserver.crt >/dev/null 2>&1
    printf 'extendedKeyUsage=clientAuth\n' >client.ext
    client() { # file CN O
      openssl req -newkey rsa:2048 -nodes -keyout "$1.key" -out "$1.csr" -subj "/CN=$2${3:+/O=$3}" \
        >/dev/null 2>&1
      openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 \
        -extfile client.ext -out "$1.crt" >/dev/null 2>&1
    }
    client admin lathe-admin system:masters
    client controller-manager system:kube-controller-manager
    client scheduler system:kube-scheduler
    client kwok kwok-controller system:masters
    openssl genrsa -out sa.key 2048 >/dev/null 2>&1
    openssl rsa -in sa.key -pubout -out sa.pub >/dev/null 2>&1
    rm -f ./*.csr ./*.ext
  )
  touch "$pki/.done-2"
}

api_ready() {
  curl -fsS --cacert "$pki/ca.crt" --cert "$pki/admin.crt" --key "$pki/admin.key" \
    "https://127.0.0.1:$API_PORT/readyz"
}

up() {
  local t0=$SECONDS real_node=false why
  mkdir -p "$state/pids" "$state/logs" "$state/etcd"
  if why=$("$node" check); then real_node=true; else log "$why; pods run on the kwok nodes only"; fi
  # Builds come first and in parallel with the S3 start: the warm path is a handful of stat calls.
  if $real_node; then "$tools" ensure kubectl minio etcd kwok kubernetes node; else "$tools" ensure; fi
  make_pki
  # With the real node, the API server and S3 listen where pods can reach them (the bridge address;
  # hack/node.sh's iptables guard admits only the loopback and the bridge).
  local bind=127.0.0.1 advertise=127.0.0.1 pod_host='' kubelet_flags=()
  if $real_node; then
    bind=0.0.0.0 advertise=$NODE_HOST_IP pod_host=$NODE_HOST_IP
    "$node" network
    "$node" pki
    kubelet_flags=(--kubelet-preferred-address-types InternalIP
      --kubelet-certificate-authority "$pki/ca.crt"
      --kubelet-client-certificate "$pki/node/apiserver-kubelet-client.crt"
      --kubelet-client-key "$pki/node/apiserver-kubelet-client.key")
  fi
  LATHE_S3_ADDRESS=$bind LATHE_S3_POD_HOST=$pod_host "$root/hack/s3.sh" up
  local k8s
  k8s=$(dirname "$("$tools" path kube-apiserver)")
  kubeconfig "$state/kubeconfig" admin
  kubeconfig "$state/controller-manager.kubeconfig" controller-manager
  kubeconfig "$state/scheduler.kubeconfig" scheduler
  kubeconfig "$state/kwok.kubeconfig" kwok

  # fsync off: this etcd holds throwaway test state, and fsync dominates its latency on shared disks.
  start etcd "$("$tools" path etcd)" --name lathe --data-dir "$state/etcd" \
    --listen-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster "lathe=http://127.0.0.1:$ETCD_PEER_PORT" \
    --unsafe-no-fsync --quota-backend-bytes 4294967296 --log-level warn
  wait_for etcd etcd 150 curl -fsS "http://127.0.0.1:$ETCD_PORT/health"

  # The admission chain is the API server's default set (PodSecurity, ServiceAccount, LimitRanger,
  # ResourceQuota, webhooks, ValidatingAdmissionPolicy, ...) plus NodeRestriction, as on EKS.
  start kube-apiserver "$k8s/kube-apiserver" \
    --etcd-servers "http://127.0.0.1:$ETCD_PORT" \
    --bind-address "$bind" --advertise-address "$advertise" --secure-port "$API_PORT" \
    "${kubelet_flags[@]}" \
    --tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" \
    --client-ca-file "$pki/ca.crt" \
    --authorization-mode RBAC \
    --enable-admission-plugins NodeRestriction \
    --service-account-issuer https://kubernetes.default.svc.cluster.local \
    --service-account-key-file "$pki/sa.pub" \
    --service-account-signing-key-file "$pki/sa.key" \
    --service-cluster-ip-range "$SERVICE_CIDR" \
    --allow-privileged=false \
    --max-requests-inflight 800 --max-mutating-requests-inflight 400 \
    --profiling="${LATHE_APISERVER_PROFILING:-false}" --v=1
  wait_for "kube-apiserver /readyz" kube-apiserver 300 api_ready

  start kube-controller-manager "$k8s/kube-controller-manager" \
    --kubeconfig "$state/controller-manager.kubeconfig" \
    --authentication-kubeconfig "$state/controller-manager.kubeconfig" \
    --authorization-kubeconfig "$state/controller-manager.kubeconfig" \
    --leader-elect=false --bind-address 127.0.0.1 --secure-port 0 \
    --use-service-account-credentials \
    --service-account-private-key-file "$pki/sa.key" --root-ca-file "$pki/ca.crt" \
    --cluster-signing-cert-file "$pki/ca.crt" --cluster-signing-key-file "$pki/ca.key" \
    --kube-api-qps 200 --kube-api-burst 400 --concurrent-job-syncs 10 \
    --node-monitor-grace-period 60s --v=1
  start kube-scheduler "$k8s/kube-scheduler" \
    --kubeconfig "$state/scheduler.kubeconfig" \
    --authentication-kubeconfig "$state/scheduler.kubeconfig" \
    --authorization-kubeconfig "$state/scheduler.kubeconfig" \
    --leader-elect=false --bind-address 127.0.0.1 --secure-port 0 \
    --kube-api-qps 200 --kube-api-burst 400 --v=1

  local stages=$state/kwok-stages.yaml
  {
    for f in "$("$tools" path kwok-stages)"/*.yaml; do cat "$f"; echo "---"; done
    cat "$root/hack/kwok/pod-stages.yaml"
  } >"$stages"
  start kwok "$("$tools" path kwok)" --kubeconfig "$state/kwok.kubeconfig" \
    --manage-all-nodes=false --manage-nodes-with-annotation-selector kwok.x-k8s.io/node=fake \
    --cidr "$POD_CIDR" --node-ip 10.0.0.1 --node-lease-duration-seconds 40 \
    --server-address "127.0.0.1:$KWOK_PORT" --config "$stages"

  local kubectl
  kubectl=$("$tools" path kubectl)
  export KUBECONFIG=$state/kubeconfig
  # Nodes accept status on create, which is how kwok nodes get their nvidia.com/gpu capacity.
  "$kubectl" create -f "$root/hack/kwok/nodes.yaml" --save-config=false 2>&1 |
    grep -v AlreadyExists >&2 || true
  wait_for "nodes Ready" kwok 300 "$kubectl" wait --for=condition=Ready node --all --timeout=1s
  # The default ServiceAccount must exist before pods can be created in "default".
  wait_for "default service account" kube-controller-manager 300 \
    "$kubectl" get serviceaccount default -n default
  # The operator's default Lease namespace, so that `make cluster && make operator` leads at once
  # (the chart creates it on a real cluster; without it the operator refuses to start, by design).
  "$kubectl" create namespace lathe-system --dry-run=client -o yaml | "$kubectl" apply -f - >/dev/null
  if $real_node; then "$node" up; fi
  log "up in $((SECONDS - t0))s"
  cat >&2 <<EOF

  export KUBECONFIG=$state/kubeconfig                       # admin, RBAC on
  set -a; . $state/s3.env; set +a                            # local S3 (MinIO), AWS SDK variables
  export PATH=$(dirname "$kubectl"):\$PATH                  # kubectl and helm of the same release
  kubectl get nodes -L nvidia.com/gpu.product,eks.amazonaws.com/capacityType

EOF
}

down() {
  # The node first: its pods are torn down through containerd while the rest still runs.
  "$node" down || log "the real node did not come down cleanly (hack/node.sh leaks lists what is left)"
  stop "${components[@]}"
  # Anything the operator started for `make demo` is stopped too.
  if [ -f "$state/pids/operator.pid" ]; then
    kill "$(cat "$state/pids/operator.pid")" 2>/dev/null || true
    rm -f "$state/pids/operator.pid"
  fi
  "$root/hack/s3.sh" down
  rm -rf "$state/etcd" "$state/minio" "$state/kubeconfig" "$state/s3.address"
  log "down"
}

status() {
  for c in etcd kube-apiserver kube-controller-manager kube-scheduler kwok minio operator \
    containerd kubelet kube-proxy coredns; do
    if [ -f "$state/pids/$c.pid" ] && kill -0 "$(cat "$state/pids/$c.pid")" 2>/dev/null; then
      printf '  %-24s running (pid %s)\n' "$c" "$(cat "$state/pids/$c.pid")"
    else
      printf '  %-24s stopped\n' "$c"
    fi
  done
}

case ${1:-} in
  up) up ;;
  down) down ;;
  status) status ;;
  *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
