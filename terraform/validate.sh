#!/usr/bin/env bash
# make terraform-validate: `terraform init -backend=false`, `terraform validate` and `terraform test`
# (tests/*.tftest.hcl, mocked provider) of terraform/,
# offline. registry.terraform.io is out of reach here, so the hashicorp/aws provider is built from
# the Go module proxy (scripts/tools.sh provider; a long, memory-hungry build, cached afterwards)
# and served to terraform init through a filesystem_mirror in a CLI config of our own.
#
#   terraform/validate.sh                build the provider if it is not cached, then validate
#   terraform/validate.sh --cached-only  validate only if the provider is cached (exit 0 otherwise)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
tools=$here/scripts/tools.sh
export CHECKPOINT_DISABLE=1 TF_IN_AUTOMATION=1 TF_INPUT=0

if [ "${1:-}" = "--cached-only" ]; then
  if ! mirror=$("$tools" provider-cached); then
    echo "SKIPPED: the hashicorp/aws provider is not cached; run terraform/validate.sh to build it."
    exit 0
  fi
else
  mirror=$("$tools" provider)
fi
tf=$("$tools" terraform)

# Validate a copy, so init's .terraform/ and lock file never land in the repository (a lock file
# with the hashes of a local build would be wrong for everyone who installs from the registry).
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$here"/*.tf "$work/"
mkdir "$work/tests"
cp "$here"/tests/*.tftest.hcl "$work/tests/"
cat >"$work/terraformrc" <<CFG
provider_installation {
  filesystem_mirror {
    path    = "$mirror"
    include = ["registry.terraform.io/hashicorp/aws"]
  }
}
CFG
export TF_CLI_CONFIG_FILE=$work/terraformrc

echo "terraform: $("$tf" version | head -n1); provider mirror: $mirror"
(cd "$work" && "$tf" init -backend=false -input=false -no-color >"$work/init.log" 2>&1) || {
  cat "$work/init.log" >&2
  exit 1
}
grep -E 'Installed hashicorp/aws|Using hashicorp/aws' "$work/init.log" || true
(cd "$work" && "$tf" validate -no-color)
# terraform test with a mocked aws provider (tests/plan.tftest.hcl): plans and mock-applies a few
# variable sets, evaluating every expression; no credentials, no network.
(cd "$work" && "$tf" test -no-color)
