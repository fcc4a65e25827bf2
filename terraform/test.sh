#!/usr/bin/env bash
# make test-terraform: the checks of terraform/, none of which needs AWS credentials or a network
# beyond the package registries (for the first run's installs):
#   1. terraform fmt -check -recursive
#   2. checkov over terraform/: zero failed checks; skips only inline, each with a reason
#   3. the HCL property tests (tests/, pytest + python-hcl2)
#   4. terraform validate, only when the locally built hashicorp/aws provider is already cached
#      (building it takes far longer than this target should; `make terraform-validate`, i.e.
#      terraform/validate.sh, builds it and validates)
# Tools are built/installed once into ${LATHE_CACHE:-~/.cache/lathe} by scripts/tools.sh.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
tools=$here/scripts/tools.sh
export CHECKPOINT_DISABLE=1 TF_IN_AUTOMATION=1 TF_INPUT=0

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Our own (empty) CLI config: the machine's TF_CLI_CONFIG_FILE may be missing or point elsewhere.
: >"$work/terraformrc"
export TF_CLI_CONFIG_FILE=$work/terraformrc

step() { printf '\n== %s\n' "$*"; }

tf=$("$tools" terraform)
step "terraform fmt -check -recursive ($("$tf" version | head -n1), $tf)"
"$tf" fmt -check -recursive -diff "$here"
# fmt skips files not named *.tf/*.tfvars; the example tfvars is checked through stdin.
if ! "$tf" fmt - <"$here/terraform.tfvars.example" | cmp -s - "$here/terraform.tfvars.example"; then
  echo "terraform.tfvars.example is not formatted (terraform fmt - < terraform.tfvars.example)" >&2
  exit 1
fi
echo "fmt: ok"

ck=$("$tools" checkov)
step "checkov $("$ck/checkov" --version) over terraform/"
# JSON for the verdict below; checkov's own exit code is ignored in favour of it.
"$ck/checkov" -d "$here" --framework terraform --skip-download --skip-path tests \
  -o json >"$work/checkov.json" 2>"$work/checkov.err" || true
"$ck/python" "$here/scripts/checkov_verdict.py" "$work/checkov.json" || {
  echo "--- checkov's report of the failures:"
  "$ck/checkov" -d "$here" --framework terraform --skip-download --skip-path tests --compact --quiet || true
  tail -n 20 "$work/checkov.err" >&2
  exit 1
}

py=$("$tools" pytest)
step "HCL property tests (pytest, python-hcl2)"
(cd "$here" && LATHE_TERRAFORM_BIN=$tf "$py/python" -m pytest -q -p no:cacheprovider tests)

step "terraform validate"
if "$tools" provider-cached >/dev/null; then
  "$here/validate.sh" --cached-only
else
  echo "SKIPPED: terraform validate needs the hashicorp/aws provider, which these machines cannot"
  echo "download; it is built from Go modules and that build is too long for this target."
  echo "Run 'make terraform-validate' (terraform/validate.sh) once to build and cache it; later runs"
  echo "of this target then validate too."
  # make test lists it as skipped in its summary line.
  if [ -n "${LATHE_TEST_SKIPS:-}" ]; then
    echo "terraform-validate-and-test (no cached hashicorp/aws provider; run make terraform-validate once)" >>"$LATHE_TEST_SKIPS"
  fi
fi
