#!/usr/bin/env bash
# The observability checks: the chart's Grafana dashboards (fresh, `dashboard-linter lint --strict` clean,
# every query parsed by promtool), its PrometheusRule (`promtool check rules`, and
# `promtool test rules` with a unit test per alert), the check that every metric a dashboard or an
# alert queries is one the operator or the inference server exports, and the GPU autoscaling example
# (docs/gpu-autoscaling/). No cluster. The assertions live in test/observability/.
#
#   hack/observability.sh      (make test-observability)
#
# helm, promtool and dashboard-linter come from hack/tools.sh (built once from Go modules and cached; a missing one is
# built here, and a build that fails fails the suite).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
HELM=${HELM:-$(hack/tools.sh path helm)}
PROMTOOL=${PROMTOOL:-$(hack/tools.sh path promtool)}
DASHBOARD_LINTER=${DASHBOARD_LINTER:-$(hack/tools.sh path dashboard-linter)}
export HELM PROMTOOL DASHBOARD_LINTER
echo "== $("$PROMTOOL" --version | head -n 1)"
exec npx vitest run --config test/observability/vitest.config.ts
