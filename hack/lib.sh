# shellcheck shell=bash
# What hack/cluster.sh and hack/node.sh share: their processes (detached, with pid files under
# $state/pids and logs under $state/logs) and kubeconfigs for the client certificates in $pki.
# Sourced, after the caller has set $state, $pki and $API_PORT.

# The Services' addresses: the API server allocates them, and the node's kube-router exempts them.
SERVICE_CIDR=10.96.0.0/16

pid_of() { cat "$state/pids/$1.pid" 2>/dev/null || true; }
running() { local p; p=$(pid_of "$1"); [ -n "$p" ] && kill -0 "$p" 2>/dev/null; }

# start NAME BINARY ARGS...: run detached in its own session so it outlives `make`.
start() {
  local name=$1
  shift
  if running "$name"; then return 0; fi
  setsid "$@" >"$state/logs/$name.log" 2>&1 </dev/null &
  echo $! >"$state/pids/$name.pid"
}

# stop NAME...: SIGTERM to each, then up to 10 s for them to go, then SIGKILL; forget the pids.
stop() {
  local c p
  for c in "$@"; do p=$(pid_of "$c"); [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  for c in "$@"; do
    p=$(pid_of "$c")
    if [ -n "$p" ]; then
      for _ in $(seq 1 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$p" 2>/dev/null || true
    fi
    rm -f "$state/pids/$c.pid"
  done
}

# kubeconfig FILE CERT: a kubeconfig for the client certificate $pki/CERT.crt (key CERT.key).
kubeconfig() {
  cat >"$1" <<KUBECONFIG
apiVersion: v1
kind: Config
clusters:
- name: lathe-local
  cluster:
    server: https://127.0.0.1:$API_PORT
    certificate-authority: $pki/ca.crt
users:
- name: ${2##*/}
  user:
    client-certificate: $pki/$2.crt
    client-key: $pki/$2.key
contexts:
- name: lathe-local
  context: {cluster: lathe-local, user: ${2##*/}, namespace: default}
current-context: lathe-local
KUBECONFIG
}
