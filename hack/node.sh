#!/usr/bin/env bash
# The real node of the local cluster: a kubelet that runs real containers (containerd v2 + Debian's
# runc), CNI bridge networking, kube-proxy, CoreDNS and kube-router's network policy controller
# (NetworkPolicies enforced, as on EKS with the VPC CNI's policy agent), beside the kwok nodes that
# simulate GPUs.
# hack/cluster.sh calls it; everything it starts runs as a plain process under .cluster/.
#
#   hack/node.sh check      say in one line whether this machine can run the node, and why not
#   hack/node.sh network    the bridge, sysctls and iptables guard (before the API server starts)
#   hack/node.sh pki        the node's certificates, signed by the cluster CA
#   hack/node.sh up         containerd, kubelet, kube-proxy, CoreDNS, kube-router's firewall; waits
#                           for the node to be Ready and the policy chains to be in place
#                           (after network and pki, which hack/cluster.sh runs before the API server
#                           so that the guard is in place before anything listens on the bridge)
#   hack/node.sh down       stop it all and remove what it made (pods, mounts, cgroups, chains, links)
#   hack/node.sh leaks      print anything a stopped node left behind; exit 1 if there is any
#
# Layout: pods get 10.222.0.0/24 on the bridge lathe0 (10.222.0.1 is the host and their default
# route, so Service IPs such as the API server's 10.96.0.1 reach kube-proxy's rules; iptables keeps
# pods off every other network); the API server, the local S3 server and CoreDNS answer pods on
# 10.222.0.1. The node is tainted lathe.dev/real-node so only pods that ask for it land there (the
# kwok nodes keep the simulated workloads); its labels are lathe.dev/node-pool=local and
# kubernetes.io/hostname=lathe-node.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
state=${LATHE_STATE_DIR:-$root/.cluster}
CACHE=${LATHE_CACHE:-$HOME/.cache/lathe}
tools=$root/hack/tools.sh
node_state=$state/node
pki=$state/pki
API_PORT=${LATHE_APISERVER_PORT:-16443}
S3_PORT=${LATHE_S3_PORT:-19000}
NODE_NAME=lathe-node
BRIDGE=lathe0
HOST_IP=10.222.0.1
POD_SUBNET=10.222.0.0/24
# Images live in a cache beside the binaries, not in .cluster/: `make cluster-down` forgets the
# cluster, not the multi-GB images `make images` imported (hack/images.sh).
CONTAINERD_ROOT=$CACHE/containerd
SOCK=$node_state/containerd.sock
PAUSE_IMAGE=lathe.local/pause:3.10

log() { printf '[node] %s\n' "$*" >&2; }
# shellcheck source=hack/lib.sh
. "$root/hack/lib.sh"
kubectl() { "$("$tools" path kubectl)" --kubeconfig "$state/kubeconfig" "$@"; }

# ---- can this machine run it? ------------------------------------------------------------------

# Debian packages the node needs (a fresh machine of this project's kind has none of them).
PACKAGES=(runc containernetworking-plugins iptables conntrack ipset)

# Prints nothing and returns 0 when the node can run; otherwise one line saying why not.
why_not() {
  case ${LATHE_REAL_NODE:-auto} in
    false | 0 | off) echo "turned off (LATHE_REAL_NODE=${LATHE_REAL_NODE})"; return 1 ;;
  esac
  [ "$(id -u)" = 0 ] || { echo "not root (kubelet and runc need root)"; return 1; }
  [ "$(uname -s)" = Linux ] || { echo "not Linux"; return 1; }
  grep -qw overlay /proc/filesystems || { echo "the kernel has no overlay filesystem"; return 1; }
  [ -w /sys/fs/cgroup ] || [ -w /sys/fs/cgroup/memory ] || { echo "/sys/fs/cgroup is not writable"; return 1; }
  local missing=()
  command -v runc >/dev/null || missing+=(runc)
  [ -x /usr/lib/cni/bridge ] || missing+=(containernetworking-plugins)
  command -v iptables >/dev/null || missing+=(iptables)
  command -v conntrack >/dev/null || missing+=(conntrack)
  command -v ipset >/dev/null || missing+=(ipset)
  if [ ${#missing[@]} -gt 0 ]; then
    if command -v apt-get >/dev/null; then
      log "installing Debian packages: ${missing[*]}"
      "$root/hack/apt.sh" "${PACKAGES[@]}" \
        >"$state/logs/node-apt.log" 2>&1 || { echo "apt-get install ${missing[*]} failed (see $state/logs/node-apt.log)"; return 1; }
    else
      echo "missing ${missing[*]} and no apt-get to install them"; return 1
    fi
  fi
  return 0
}

check() {
  mkdir -p "$state/logs"
  local why
  if why=$(why_not); then echo "real node: available"; else echo "real node: unavailable: $why"; return 1; fi
}

# ---- certificates --------------------------------------------------------------------------------

# Signed by the cluster CA (hack/cluster.sh make_pki): the kubelet's client and serving certs, the
# API server's client cert for kubelet (logs, exec, port-forward), kube-proxy's, CoreDNS's and
# kube-router's.
node_pki() {
  [ -f "$pki/node/.done" ] && [ -f "$pki/node/kube-router.crt" ] && return 0
  rm -rf "$pki/node"
  mkdir -p "$pki/node"
  (
    cd "$pki/node"
    sign() { # file subject ext
      openssl req -newkey rsa:2048 -nodes -keyout "$1.key" -out "$1.csr" -subj "$2" >/dev/null 2>&1
      printf '%s\n' "$3" >"$1.ext"
      openssl x509 -req -in "$1.csr" -CA ../ca.crt -CAkey ../ca.key -CAcreateserial -days 3650 \
        -extfile "$1.ext" -out "$1.crt" >/dev/null 2>&1
      rm -f "$1.csr" "$1.ext"
    }
    sign kubelet "/CN=system:node:$NODE_NAME/O=system:nodes" 'extendedKeyUsage=clientAuth'
    sign kubelet-serving "/CN=system:node:$NODE_NAME/O=system:nodes" \
      "$(printf 'extendedKeyUsage=serverAuth\nsubjectAltName=IP:%s,DNS:%s' "$HOST_IP" "$NODE_NAME")"
    sign apiserver-kubelet-client "/CN=kube-apiserver-kubelet-client" 'extendedKeyUsage=clientAuth'
    sign kube-proxy "/CN=system:kube-proxy" 'extendedKeyUsage=clientAuth'
    sign coredns "/CN=lathe:coredns" 'extendedKeyUsage=clientAuth'
    sign kube-router "/CN=lathe:kube-router" 'extendedKeyUsage=clientAuth'
  )
  touch "$pki/node/.done"
}

# ---- network ---------------------------------------------------------------------------------------

# Chains of our own, jumped to from the built-in ones, so teardown removes exactly what we added.
ipt_guard() {
  iptables -w -N LATHE-FORWARD 2>/dev/null || iptables -w -F LATHE-FORWARD
  # Pods talk to each other (directly or through a Service DNAT'd back onto the bridge) and to the
  # host, never to any other network.
  iptables -w -A LATHE-FORWARD -i "$BRIDGE" -o "$BRIDGE" -j ACCEPT
  iptables -w -A LATHE-FORWARD -i "$BRIDGE" -j DROP
  iptables -w -A LATHE-FORWARD -o "$BRIDGE" -j DROP
  iptables -w -C FORWARD -j LATHE-FORWARD 2>/dev/null || iptables -w -I FORWARD 1 -j LATHE-FORWARD
  # The API server and S3 listen on every address so that pods reach them on the bridge; only the
  # loopback and the bridge may connect.
  iptables -w -N LATHE-INPUT 2>/dev/null || iptables -w -F LATHE-INPUT
  iptables -w -A LATHE-INPUT -i lo -j RETURN
  iptables -w -A LATHE-INPUT -i "$BRIDGE" -j RETURN
  iptables -w -A LATHE-INPUT -p tcp -m multiport --dports "$API_PORT,$S3_PORT,10250" -j DROP
  iptables -w -C INPUT -j LATHE-INPUT 2>/dev/null || iptables -w -I INPUT 1 -j LATHE-INPUT
}

network() {
  why_not >/dev/null || return 0
  mkdir -p "$node_state"
  # Remember the sysctls we change, to put them back at `down`.
  [ -f "$node_state/sysctl.saved" ] ||
    sysctl -n net.ipv4.ip_forward net.bridge.bridge-nf-call-iptables 2>/dev/null |
      paste -sd' ' >"$node_state/sysctl.saved" || true
  if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
    ip link add "$BRIDGE" type bridge
    ip addr add "$HOST_IP/24" dev "$BRIDGE"
  fi
  ip link set "$BRIDGE" up
  sysctl -qw net.ipv4.ip_forward=1
  # Bridged pod-to-pod traffic must pass iptables for Service DNAT to work on one bridge.
  sysctl -qw net.bridge.bridge-nf-call-iptables=1 2>/dev/null || true
  ipt_guard
}

# ---- components -------------------------------------------------------------------------------------

rbac() {
  # With RBAC as the only authorizer (no Node authorizer), the kubelet's identity gets the
  # system:node role; the API server's kubelet client gets exactly the kubelet API.
  kubectl apply --server-side --field-manager lathe-node -f - >/dev/null <<EOF
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: lathe:node:$NODE_NAME}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: system:node}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: "system:node:$NODE_NAME"}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: lathe:apiserver-kubelet-client}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: system:kubelet-api-admin}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: kube-apiserver-kubelet-client}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: lathe:coredns}
rules:
- {apiGroups: [""], resources: [services, namespaces], verbs: [list, watch]}
- {apiGroups: [discovery.k8s.io], resources: [endpointslices], verbs: [list, watch]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: lathe:coredns}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: lathe:coredns}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: "lathe:coredns"}]
---
# kube-router's network policy controller: the informers it starts (pkg/cmd/kube-router.go), read
# only, and its own node.
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: lathe:kube-router}
rules:
- {apiGroups: [""], resources: [pods, namespaces, nodes, services, endpoints], verbs: [get, list, watch]}
- {apiGroups: [discovery.k8s.io], resources: [endpointslices], verbs: [list, watch]}
- {apiGroups: [networking.k8s.io], resources: [networkpolicies], verbs: [list, watch]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: lathe:kube-router}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: lathe:kube-router}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: "lathe:kube-router"}]
EOF
}

# The sandbox ("pause") image: a static Go program that sleeps until signalled and reaps zombies,
# built and imported once (no registry to pull registry.k8s.io/pause from).
pause_image() {
  local ctr
  ctr=$("$tools" path ctr)
  grep -qx "$PAUSE_IMAGE" <<<"$("$ctr" --address "$SOCK" -n k8s.io images ls -q 2>/dev/null)" && return 0
  "$root/hack/images.sh" pause-archive "$node_state/pause.tar"
  "$ctr" --address "$SOCK" -n k8s.io images import "$node_state/pause.tar" >/dev/null
  rm -f "$node_state/pause.tar"
}

write_configs() {
  local cni=$node_state/cni
  mkdir -p "$cni/net.d" "$node_state/kubelet" "$node_state/pod-logs" "$node_state/cni-ipam" "$CONTAINERD_ROOT"
  cat >"$cni/net.d/10-lathe.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "lathe",
  "plugins": [
    {
      "type": "bridge", "bridge": "$BRIDGE", "isGateway": true, "ipMasq": false, "hairpinMode": true,
      "ipam": {"type": "host-local", "ranges": [[{"subnet": "$POD_SUBNET", "gateway": "$HOST_IP"}]],
               "routes": [{"dst": "0.0.0.0/0"}], "dataDir": "$node_state/cni-ipam"}
    },
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
EOF
  # containerd 2.x config (version 3). restrict_oom_score_adj: root here lacks CAP_SYS_RESOURCE,
  # so the negative oom_score_adj kubelet asks for is refused and every sandbox fails to start.
  cat >"$node_state/containerd.toml" <<EOF
version = 3
root = "$CONTAINERD_ROOT"
state = "$node_state/containerd-state"
[grpc]
  address = "$SOCK"
[ttrpc]
  address = "$SOCK.ttrpc"
[debug]
  address = "$SOCK.debug"
[plugins."io.containerd.cri.v1.runtime"]
  restrict_oom_score_adj = true
  enable_selinux = false
  netns_mounts_under_state_dir = true
  [plugins."io.containerd.cri.v1.runtime".cni]
    bin_dirs = ["/usr/lib/cni"]
    conf_dir = "$cni/net.d"
  [plugins."io.containerd.cri.v1.runtime".containerd]
    default_runtime_name = "runc"
    [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc.options]
        BinaryName = "$(command -v runc)"
        SystemdCgroup = false
[plugins."io.containerd.cri.v1.images"]
  snapshotter = "overlayfs"
  [plugins."io.containerd.cri.v1.images".pinned_images]
    sandbox = "$PAUSE_IMAGE"
[plugins."io.containerd.grpc.v1.cri"]
  stream_server_address = "127.0.0.1"
EOF
  kubeconfig "$node_state/kubelet.kubeconfig" node/kubelet
  kubeconfig "$node_state/kube-proxy.kubeconfig" node/kube-proxy
  kubeconfig "$node_state/coredns.kubeconfig" node/coredns
  kubeconfig "$node_state/kube-router.kubeconfig" node/kube-router
  cat >"$node_state/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
containerRuntimeEndpoint: unix://$SOCK
# No systemd here; the cgroup v1 hierarchies are mounted (kubelet warns of "maintenance mode").
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
address: $HOST_IP
port: 10250
healthzBindAddress: 127.0.0.1
healthzPort: 10248
readOnlyPort: 0
tlsCertFile: $pki/node/kubelet-serving.crt
tlsPrivateKeyFile: $pki/node/kubelet-serving.key
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $pki/ca.crt}
authorization: {mode: Webhook}
clusterDomain: cluster.local
clusterDNS: [$HOST_IP]
resolvConf: ""
podLogsDir: $node_state/pod-logs
# Imported images have no registry to come back from: never collect them.
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {memory.available: 200Mi, nodefs.available: 2%, imagefs.available: 2%, nodefs.inodesFree: 2%}
registerWithTaints:
- {key: lathe.dev/real-node, value: "true", effect: NoSchedule}
serializeImagePulls: false
maxPods: 30
EOF
  cat >"$node_state/kube-proxy.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: $node_state/kube-proxy.kubeconfig}
hostnameOverride: $NODE_NAME
mode: iptables
clusterCIDR: $POD_SUBNET
bindAddress: 127.0.0.1
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
# conntrack limits are the host's business; kube-proxy must not try to raise them here.
conntrack: {maxPerCore: 0}
EOF
  # CoreDNS as a host process on the bridge address. No forwarder: nothing outside the cluster is
  # reachable, so other names fail at once instead of timing out.
  cat >"$node_state/Corefile" <<EOF
cluster.local:53 in-addr.arpa:53 ip6.arpa:53 {
  bind $HOST_IP
  errors
  kubernetes cluster.local in-addr.arpa ip6.arpa {
    kubeconfig $node_state/coredns.kubeconfig lathe-local
    pods insecure
    fallthrough in-addr.arpa ip6.arpa
  }
  cache 5
}
.:53 {
  bind $HOST_IP
  template ANY ANY {
    rcode NXDOMAIN
  }
}
EOF
}

up() {
  local why t0=$SECONDS
  if ! why=$(why_not); then log "real node unavailable: $why; pods run on the kwok nodes only"; return 0; fi
  mkdir -p "$node_state" "$state/pids" "$state/logs"
  write_configs
  rbac
  local bin
  # The v2 shim must come first in PATH: containerd looks its shim up there.
  bin=$(dirname "$("$tools" path containerd)")
  start containerd env PATH="$bin:$PATH" "$bin/containerd" --config "$node_state/containerd.toml"
  for _ in $(seq 1 100); do [ -S "$SOCK" ] && "$bin/ctr" --address "$SOCK" version >/dev/null 2>&1 && break; sleep 0.1; done
  running containerd || { tail -n 30 "$state/logs/containerd.log" >&2; return 1; }
  pause_image
  local k8s
  k8s=$(dirname "$("$tools" path kubelet)")
  start kubelet env PATH="$bin:$PATH" "$k8s/kubelet" --config "$node_state/kubelet.yaml" \
    --kubeconfig "$node_state/kubelet.kubeconfig" --root-dir "$node_state/kubelet" \
    --hostname-override "$NODE_NAME" --node-ip "$HOST_IP" \
    --node-labels "lathe.dev/node-pool=local,node.kubernetes.io/instance-type=local" --v=1
  start kube-proxy "$k8s/kube-proxy" --config "$node_state/kube-proxy.yaml" --v=1
  start coredns "$("$tools" path coredns)" -conf "$node_state/Corefile"
  local ready=false
  for _ in $(seq 1 150); do
    kubectl get node "$NODE_NAME" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null |
      grep -qx True && { ready=true; break; }
    running kubelet || { log "kubelet exited:"; tail -n 30 "$state/logs/kubelet.log" >&2; return 1; }
    sleep 0.2
  done
  if ! $ready; then
    log "timed out waiting for node $NODE_NAME to be Ready"
    tail -n 30 "$state/logs/kubelet.log" >&2
    return 1
  fi
  # Once the Node exists (kube-router looks itself up by name): NetworkPolicies, enforced in
  # iptables and ipsets (its chains KUBE-ROUTER-* and KUBE-POD-FW-*, jumped to ahead of
  # LATHE-FORWARD; bridged pod-to-pod traffic passes them through br_netfilter).
  # Only its firewall: the bridge routes and kube-proxy serves Services. Pods without a policy
  # stay open, and the node itself always reaches its pods (the kubelet's probes).
  start kube-router "$("$tools" path kube-router)" --run-firewall=true --run-router=false \
    --run-service-proxy=false --kubeconfig "$node_state/kube-router.kubeconfig" \
    --hostname-override "$NODE_NAME" --service-cluster-ip-range "$SERVICE_CIDR" \
    --health-port 0 --metrics-port 0 --v=1
  for _ in $(seq 1 100); do
    iptables -w -S KUBE-ROUTER-FORWARD >/dev/null 2>&1 && { log "node $NODE_NAME Ready, policies enforced, in $((SECONDS - t0))s"; return 0; }
    running kube-router || break
    sleep 0.2
  done
  log "kube-router did not set up its chains:"
  tail -n 30 "$state/logs/kube-router.log" >&2
  return 1
}

# ---- teardown --------------------------------------------------------------------------------------

# Every rule that jumps to one of ours and our chains themselves (kube-proxy's KUBE-*, the kubelet's
# KUBE-FIREWALL and canaries, kube-router's KUBE-ROUTER-*, KUBE-POD-FW-*, KUBE-NWPLCY-*, and LATHE-*), by filtering a table's dump and restoring it whole: the
# rules' quoted comments survive, and the table changes in one step.
ipt_clean() {
  local ipt=$1 table dump
  command -v "$ipt-save" >/dev/null || return 0
  for table in filter nat mangle raw; do
    # Read the table whole first: `save | grep -q` under pipefail counts as "no match" whenever
    # grep exits before a large save is written (SIGPIPE), and then the table was skipped (a
    # thousand Services' rules were enough).
    dump=$("$ipt-save" -t "$table" 2>/dev/null) || continue
    grep -q -E '(KUBE|LATHE)-' <<<"$dump" || continue
    grep -v -E '^:(KUBE|LATHE)-|^-A (KUBE|LATHE)-|-j (KUBE|LATHE)-' <<<"$dump" | "$ipt-restore" -w
  done
}

down() {
  [ -d "$node_state" ] || return 0
  stop kubelet
  # Pods are torn down through CRI, so CNI releases their addresses and veths and runc their
  # cgroups; the containers' writable layers go with them (the images stay).
  if running containerd; then
    timeout 60 "$("$tools" path crictl)" --runtime-endpoint "unix://$SOCK" --timeout 30s rmp -af >/dev/null 2>&1 || true
  fi
  stop containerd
  pkill -9 -f "containerd-shim-runc-v2 -namespace k8s.io" 2>/dev/null || true
  stop kube-proxy coredns kube-router
  ipt_clean iptables
  ipt_clean ip6tables
  # kube-router's ipsets, once no rule refers to them.
  ipset_names | while read -r set; do ipset destroy "$set" 2>/dev/null || true; done
  # Mounts under the node's state (kubelet's bind-mount of its root dir onto itself, volumes, the
  # network namespaces) and the overlay mounts of containerd's snapshotter, deepest first.
  findmnt -rn -o TARGET | { grep -E "^($node_state|$CONTAINERD_ROOT)(/|$)" || true; } | sort -r |
    while read -r m; do umount -l "$m" 2>/dev/null || true; done
  ip link show "$BRIDGE" >/dev/null 2>&1 && ip link delete "$BRIDGE"
  # cgroups the kubelet made (cgroupfs driver): kubepods/... in each hierarchy, deepest first.
  find /sys/fs/cgroup -mindepth 2 -maxdepth 6 -type d -name 'kubepods*' 2>/dev/null | sort -r |
    while read -r d; do find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null || true; done
  # Paths kubelet writes whatever its --root-dir.
  rm -rf /var/lib/kubelet/device-plugins /var/log/containers
  rmdir /var/lib/kubelet 2>/dev/null || true
  if [ -f "$node_state/sysctl.saved" ]; then
    read -r fwd nf <"$node_state/sysctl.saved" || true
    [ -n "${fwd:-}" ] && sysctl -qw "net.ipv4.ip_forward=$fwd"
    [ -n "${nf:-}" ] && sysctl -qw "net.bridge.bridge-nf-call-iptables=$nf" 2>/dev/null
  fi
  rm -rf "$node_state"
  log "down"
}

# The ipsets kube-router makes (KUBE-SRC-*, KUBE-DST-*, kube-router-*, inet6:...).
ipset_names() {
  command -v ipset >/dev/null || return 0
  ipset list -n 2>/dev/null | grep -E '^(inet6:)?(KUBE-|kube-router-)' || true
}

leaks() {
  local found=0 out
  report() { [ -n "$2" ] && { printf 'left behind: %s\n%s\n' "$1" "$2"; found=1; }; return 0; }
  # The control plane and the node's daemons (tool cache), container shims, and operators of this
  # checkout (make operator, make demo, the e2e suites' processes).
  out=$(pgrep -af "containerd-shim|runc init|$CACHE/bin/|$root/dist/operator/src/main.js" || true)
  report "processes" "$out"
  out=$(ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | grep -E "^($BRIDGE|veth)" || true)
  report "network interfaces" "$out"
  # Every table of both families, as ipt_clean cleans them.
  out=$( { iptables-save 2>/dev/null; ip6tables-save 2>/dev/null; } | grep -E '^:(KUBE|LATHE)-' || true)
  report "iptables chains" "$out"
  report "ipsets" "$(ipset_names)"
  out=$(findmnt -rn -o TARGET | grep -E "^($state|$CONTAINERD_ROOT)(/|$)|/var/lib/kubelet" || true)
  report "mounts" "$out"
  out=$(find /sys/fs/cgroup -mindepth 2 -maxdepth 3 -type d -name 'kubepods*' 2>/dev/null || true)
  report "cgroups" "$out"
  return $found
}

case ${1:-} in
  check) check ;;
  network) network ;;
  pki) node_pki ;;
  up) up ;;
  down) down ;;
  leaks) leaks ;;
  *) echo "usage: $0 check|network|up|down|leaks" >&2; exit 2 ;;
esac
