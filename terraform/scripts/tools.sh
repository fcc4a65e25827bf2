#!/usr/bin/env bash
# Builds (once) and locates the tools the terraform/ checks need: terraform itself, the
# hashicorp/aws provider (served to `terraform init` through a filesystem mirror), the checkov
# venv and the venv of the HCL test suite. Everything lands in a cache outside the repository,
# keyed by version, built into a temporary directory and moved into place only on success (the
# same pattern as hack/tools.sh), so an interrupted build never leaves an entry later runs trust.
#
#   terraform/scripts/tools.sh terraform        print the path of a terraform >= 1.6 (build if none)
#   terraform/scripts/tools.sh checkov          print the checkov venv's bin dir (create if missing)
#   terraform/scripts/tools.sh pytest           print the HCL-test venv's bin dir (create if missing)
#   terraform/scripts/tools.sh provider         build the aws provider into the mirror, print the mirror dir
#   terraform/scripts/tools.sh provider-cached  exit 0 (and print the mirror dir) only if already built
#   terraform/scripts/tools.sh versions         print the pinned versions
#
# Why build from Go modules: these machines reach package registries only; registry.terraform.io
# and releases.hashicorp.com are out of reach, but the Go module proxy carries the exact sources.
set -euo pipefail

# terraform: 1.11.4 is the release whose nested modules (internal/backend/remote-state/*,
# internal/legacy) the module proxy serves as pseudo-versions of the release commit; its go.mod
# points at them through ./ replace directives, which a module zip does not carry, so the build
# is a throwaway module that requires terraform and replaces each nested module with that
# pseudo-version.
TF_VERSION=1.11.4
TF_NESTED_PSEUDO=v0.0.0-20250409131005-35645b8fca68
TF_NESTED="internal/backend/remote-state/azure internal/backend/remote-state/consul
  internal/backend/remote-state/cos internal/backend/remote-state/gcs
  internal/backend/remote-state/kubernetes internal/backend/remote-state/oss
  internal/backend/remote-state/pg internal/backend/remote-state/s3 internal/legacy"
# The smallest terraform accepted from PATH (versions.tf says required_version >= 1.6).
TF_MIN=1.6.0

# hashicorp/terraform-provider-aws: its module path has no /v6 suffix, so the proxy cannot serve
# the v6.x tags; it serves commits as v1.60.1-0.<time>-<hash> pseudo-versions. The pinned commit
# is on main after the 6.47.0 release: its version/VERSION reads 6.47.1 (CHANGELOG: "6.48.0
# (Unreleased)"). It is served to terraform as 6.47.1, which satisfies versions.tf's ~> 6.0.
AWS_PROVIDER_MODULE_VERSION=v1.60.1-0.20260602190131-5f2286d6d836
AWS_PROVIDER_VERSION=6.47.1

CHECKOV_VERSION=3.3.30
HCL2_VERSION=8.1.4
PYTEST_VERSION=9.0.2

CACHE=${LATHE_CACHE:-$HOME/.cache/lathe}
BIN=$CACHE/bin
SRC=$CACHE/src
LOGS=$CACHE/logs
VENV=$CACHE/venv
MIRROR_ROOT=$CACHE/terraform-mirror
export CGO_ENABLED=0 GOFLAGS=-buildvcs=false

tf_dir=$BIN/terraform-$TF_VERSION
provider_dir=$MIRROR_ROOT/aws-$AWS_PROVIDER_VERSION-${AWS_PROVIDER_MODULE_VERSION##*-}
checkov_dir=$VENV/checkov-$CHECKOV_VERSION
pytest_dir=$VENV/terraform-tests-hcl2-$HCL2_VERSION-pytest-$PYTEST_VERSION

log() { printf '[terraform-tools] %s\n' "$*" >&2; }

atomic_build() {
  local dest=$1 fn=$2 tmp name
  [ -d "$dest" ] && return 0
  name=$(basename "$dest")
  mkdir -p "$(dirname "$dest")" "$LOGS"
  tmp="$dest.tmp.$$"
  rm -rf "$tmp"
  mkdir -p "$tmp"
  local start=$SECONDS
  log "building $name (log: $LOGS/$name.log)"
  if ! "$fn" "$tmp" >"$LOGS/$name.log" 2>&1; then
    tail -n 40 "$LOGS/$name.log" >&2
    rm -rf "$tmp"
    log "FAILED: $name"
    return 1
  fi
  # A concurrent run may have finished first; keep its result.
  if [ -d "$dest" ]; then rm -rf "$tmp"; else mv "$tmp" "$dest"; fi
  log "built $name in $((SECONDS - start))s"
}

# ---- terraform -------------------------------------------------------------------------------

build_terraform() {
  local out=$1 mod=$SRC/terraform-$TF_VERSION
  mkdir -p "$mod"
  {
    echo "module lathe.local/terraform-build"
    echo
    echo "go 1.23"
    echo
    echo "require github.com/hashicorp/terraform v$TF_VERSION"
    echo
    echo "replace ("
    for m in $TF_NESTED; do
      echo "	github.com/hashicorp/terraform/$m => github.com/hashicorp/terraform/$m $TF_NESTED_PSEUDO"
    done
    echo ")"
  } >"$mod/go.mod"
  rm -f "$mod/go.sum"
  (cd "$mod" && GOFLAGS="$GOFLAGS -mod=mod" nice -n 19 go build -trimpath \
    -ldflags "-s -w -X github.com/hashicorp/terraform/version.dev=no" \
    -o "$out/terraform" github.com/hashicorp/terraform)
  "$out/terraform" version
}

version_ge() { # version_ge A B: A >= B (dotted numbers)
  [ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | head -n1)" = "$2" ]
}

terraform_path() {
  if [ -n "${LATHE_TERRAFORM:-}" ]; then echo "$LATHE_TERRAFORM"; return; fi
  if [ -x "$tf_dir/terraform" ]; then echo "$tf_dir/terraform"; return; fi
  local onpath v
  if onpath=$(command -v terraform 2>/dev/null); then
    v=$("$onpath" version -json 2>/dev/null | sed -n 's/.*"terraform_version": *"\([0-9.]*\)".*/\1/p' | head -n1)
    if [ -n "$v" ] && version_ge "$v" "$TF_MIN"; then echo "$onpath"; return; fi
    log "terraform on PATH is ${v:-of unknown version}; need >= $TF_MIN, building $TF_VERSION"
  fi
  atomic_build "$tf_dir" build_terraform
  echo "$tf_dir/terraform"
}

# ---- the aws provider, as a filesystem mirror ------------------------------------------------

platform() {
  local os arch
  os=$(uname -s | tr '[:upper:]' '[:lower:]')
  case $(uname -m) in
    x86_64 | amd64) arch=amd64 ;;
    aarch64 | arm64) arch=arm64 ;;
    *) arch=$(uname -m) ;;
  esac
  echo "${os}_$arch"
}

# The unpacked filesystem-mirror layout terraform init reads: HOST/NAMESPACE/TYPE/VERSION/OS_ARCH/.
provider_bin_rel() {
  echo "registry.terraform.io/hashicorp/aws/$AWS_PROVIDER_VERSION/$(platform)/terraform-provider-aws_v$AWS_PROVIDER_VERSION"
}

build_provider() {
  local out=$1 mod=$SRC/terraform-provider-aws-${AWS_PROVIDER_MODULE_VERSION##*-} rel
  rel=$(provider_bin_rel)
  mkdir -p "$mod" "$out/$(dirname "$rel")"
  # A throwaway module: the provider's own go.mod may carry replace directives (it had one for
  # terraform-plugin-log), which `go install pkg@version` refuses.
  printf 'module lathe.local/aws-provider-build\n\ngo 1.26\n\nrequire github.com/hashicorp/terraform-provider-aws %s\n' \
    "$AWS_PROVIDER_MODULE_VERSION" >"$mod/go.mod"
  rm -f "$mod/go.sum"
  # The main package is the module root. Peak memory is printed by GNU time when present.
  local timer=()
  [ -x /usr/bin/time ] && timer=(/usr/bin/time -v)
  (cd "$mod" && GOFLAGS="$GOFLAGS -mod=mod" nice -n 19 "${timer[@]}" go build -trimpath \
    -ldflags "-s -w -X github.com/hashicorp/terraform-provider-aws/version.ProviderVersion=$AWS_PROVIDER_VERSION" \
    -o "$out/$rel" github.com/hashicorp/terraform-provider-aws)
}

provider_cached() { [ -x "$provider_dir/$(provider_bin_rel)" ]; }

# ---- Python venvs ----------------------------------------------------------------------------

python_bin() {
  local p
  for p in "${LATHE_PYTHON:-}" python3 python; do
    [ -n "$p" ] || continue
    if command -v "$p" >/dev/null 2>&1 && "$p" -c 'import sys, venv; sys.exit(sys.version_info < (3, 9))' 2>/dev/null; then
      command -v "$p"; return
    fi
  done
  log "no python3 >= 3.9 with the venv module found"; return 1
}

build_checkov() {
  local out=$1 py
  py=$(python_bin)
  "$py" -m venv "$out"
  "$out/bin/pip" install --disable-pip-version-check -q "checkov==$CHECKOV_VERSION"
  "$out/bin/checkov" --version
}

build_pytest_env() {
  local out=$1 py
  py=$(python_bin)
  "$py" -m venv "$out"
  "$out/bin/pip" install --disable-pip-version-check -q "python-hcl2==$HCL2_VERSION" "pytest==$PYTEST_VERSION"
}

# A venv records its absolute path, so it cannot be built elsewhere and renamed into place: it is
# created at its final path and a stamp file marks it complete; a venv without the stamp is redone.
venv_build() {
  local dest=$1 fn=$2 name
  name=$(basename "$dest")
  [ -f "$dest/.complete" ] && return 0
  rm -rf "$dest"
  mkdir -p "$(dirname "$dest")" "$LOGS"
  local start=$SECONDS
  log "creating venv $name (log: $LOGS/$name.log)"
  if ! "$fn" "$dest" >"$LOGS/$name.log" 2>&1; then
    tail -n 40 "$LOGS/$name.log" >&2
    rm -rf "$dest"
    log "FAILED: $name"
    return 1
  fi
  touch "$dest/.complete"
  log "created $name in $((SECONDS - start))s"
}

cmd=${1:-}
case $cmd in
  terraform) terraform_path ;;
  checkov) venv_build "$checkov_dir" build_checkov && echo "$checkov_dir/bin" ;;
  pytest) venv_build "$pytest_dir" build_pytest_env && echo "$pytest_dir/bin" ;;
  provider) atomic_build "$provider_dir" build_provider && echo "$provider_dir" ;;
  provider-cached) provider_cached && echo "$provider_dir" ;;
  versions)
    echo "terraform v$TF_VERSION (built only when no terraform >= $TF_MIN is on PATH)"
    echo "hashicorp/aws $AWS_PROVIDER_VERSION (module $AWS_PROVIDER_MODULE_VERSION)"
    echo "checkov $CHECKOV_VERSION"
    echo "python-hcl2 $HCL2_VERSION, pytest $PYTEST_VERSION" ;;
  *) echo "usage: $0 terraform|checkov|pytest|provider|provider-cached|versions" >&2; exit 2 ;;
esac
