# Lathe: one entry point for every task. `make help` lists them.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

ROOT := $(CURDIR)
STATE := $(ROOT)/.cluster
export KUBECONFIG ?= $(STATE)/kubeconfig
PYENV = $(shell hack/python-env.sh)
S3ENV = set -a && . $(STATE)/s3.env && set +a
TOOLBIN = $(shell dirname $$(hack/tools.sh path kubectl))

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

# ---- set-up ----------------------------------------------------------------------------------

node_modules/.installed: package.json package-lock.json
	@npm ci --no-audit --no-fund --loglevel=error
	@touch $@

.PHONY: deps
deps: node_modules/.installed ## install the npm dependencies (npm ci)

.PHONY: tools
tools: ## build the local environment's binaries (cached in ~/.cache/lathe, keyed by version)
	@hack/tools.sh ensure

.PHONY: cluster cluster-down cluster-status
cluster: ## start the local control plane (kwok GPU nodes, a real node where the machine allows) and S3
	@hack/cluster.sh up
cluster-down: ## stop everything `make cluster` and `make demo` started
	@hack/cluster.sh down
cluster-status: ## show which local components are running
	@hack/cluster.sh status

.PHONY: images images-clean
images: ## build the operator, trainer and inference images (buildah, cached) and load them into the real node
	@hack/images.sh build
	@if [ -S $(STATE)/node/containerd.sock ]; then hack/images.sh load; \
	  else echo "[images] built; the real node is not running, so nothing was loaded (make cluster, then make images)"; fi
images-clean: ## forget every built image (~/.cache/lathe/images) and the node's image store
	@hack/images.sh clean

.PHONY: s3-up s3-down
s3-up: ## start only the local S3 server (MinIO) and write .cluster/s3.env
	@hack/s3.sh up
s3-down: ## stop the local S3 server
	@hack/s3.sh down

.PHONY: python-env
python-env: ## create (once) the Python venv the image test suites use
	@hack/python-env.sh >/dev/null

# ---- the operator ----------------------------------------------------------------------------

.PHONY: build crds crds-check
build: deps ## compile the operator to dist/
	@npx tsc -p tsconfig.build.json

crds: deps ## regenerate crds/ from the zod schemas
	@npx tsx operator/src/api/generate-crds.ts

crds-check: deps ## fail when crds/ is stale
	@npx tsx operator/src/api/generate-crds.ts --check

.PHONY: operator
operator: build ## run the operator in the foreground against $KUBECONFIG (CRDs applied; AWS settings from the environment)
	@hack/crds-apply.sh
	@if [ -f $(STATE)/s3.env ] && [ -z "$${AWS_ENDPOINT_URL_S3:-}" ]; then $(S3ENV); fi; \
	  exec hack/operator-node.sh

.PHONY: operator-install operator-uninstall
operator-install: ## helm install the chart with the local images on the real node (release lathe in lathe-system)
	@hack/operator-install.sh lathe lathe-system
operator-uninstall: ## helm uninstall what operator-install installed
	@hack/operator-install.sh --uninstall lathe lathe-system

.PHONY: demo
demo: cluster build ## the main job locally: a tiny model trained in a real pod, served, asked for a completion
	@if hack/node.sh check >/dev/null 2>&1; then $(MAKE) -s images; fi
	@hack/operator-bg.sh
	@$(S3ENV) && LATHE_DEMO_NODE_WHY="$$(hack/node.sh check 2>/dev/null || true)" PATH=$(TOOLBIN):$$PATH npx tsx hack/demo.ts

.PHONY: bench
bench: cluster build ## benchmarks of the operator and the model loader (figures printed)
	@$(S3ENV) && PATH=$(TOOLBIN):$$PATH npx tsx hack/bench.ts
	@$(MAKE) -s bench-inference

# ---- tests -------------------------------------------------------------------------------------

.PHONY: test
test: ## run every test: lint, types, unit, integration, e2e, trainer, inference, terraform
	@hack/test.sh all

.PHONY: lint typecheck test-unit test-integration test-e2e test-chaos chaos
lint: deps ## eslint over the TypeScript
	@npx eslint .
typecheck: deps ## tsc --noEmit over the TypeScript
	@npx tsc -p tsconfig.json --noEmit
test-unit: deps ## unit tests (no cluster)
	@npx vitest run --project unit
test-integration: deps ## integration tests against $KUBECONFIG and the local S3 server
	@$(S3ENV) && PATH=$(TOOLBIN):$$PATH npx vitest run --project integration
test-chaos: deps build ## the short seeded chaos round of make test (LATHE_CHAOS_SEED replays one)
	@$(S3ENV) && PATH=$(TOOLBIN):$$PATH npx vitest run --project chaos
chaos: cluster build ## the full chaos round: 200 runs, 20 services, faults for 3 min; table printed
	@$(S3ENV) && PATH=$(TOOLBIN):$$PATH npx tsx test/chaos/main.ts
test-e2e: deps ## e2e suite against whatever $KUBECONFIG names
	@if [ -f $(STATE)/s3.env ]; then $(S3ENV); fi; PATH=$(TOOLBIN):$$PATH npx vitest run --project e2e

.PHONY: test-fuzz
test-fuzz: build ## fuzzed TrainingRuns and InferenceServices against $KUBECONFIG and the operator (LATHE_FUZZ_SEED, LATHE_FUZZ_RUNS, LATHE_FUZZ_CASE)
	@if [ -f $(STATE)/s3.env ]; then $(S3ENV); fi; PATH=$(TOOLBIN):$$PATH npx vitest run --project fuzz

.PHONY: test-real
test-real: deps ## real pods on the real node: train, fail, serve (needs make cluster and make images)
	@$(S3ENV) && PATH=$(TOOLBIN):$$PATH npx vitest run --project real

.PHONY: test-trainer
test-trainer: s3-up python-env ## trainer-image pytest suite, against the local S3 server
	@$(S3ENV) && cd trainer-image && $(PYENV)/bin/python -m pytest -q tests

.PHONY: test-inference
test-inference: s3-up python-env ## inference-image pytest suite, against the local S3 server
	@$(S3ENV) && cd inference-image && $(PYENV)/bin/python -m pytest -q tests

.PHONY: test-chart
test-chart: deps ## Helm chart: lint, template assertions, CRD copies; install and RBAC checks on $KUBECONFIG
	@charts/test.sh

.PHONY: test-observability test-scan dashboards
test-observability: deps ## dashboards (lint, promtool), alerts (promtool check + unit tests), metric consistency, GPU autoscaling example
	@hack/observability.sh
test-scan: deps ## checkov and kube-score over the rendered chart and the objects the operator renders for every example
	@hack/scan.sh
dashboards: deps ## regenerate charts/lathe/dashboards/*.json from hack/dashboards.ts
	@npx tsx hack/dashboards.ts

.PHONY: loadtest
loadtest: deps ## vegeta ramp against InferenceService SERVICE (NAMESPACE, default default) through its Service; prints and writes a report
	@npx tsx hack/loadtest.ts "$(SERVICE)" -n "$(or $(NAMESPACE),default)"

.PHONY: bench-inference
bench-inference: s3-up python-env ## the model loader's download benchmark: loopback, then through toxiproxy with S3's per-connection limits (it starts and stops toxiproxy)
	@toxiproxy=$$(hack/tools.sh path toxiproxy) && $(S3ENV) && cd inference-image && \
	  $(PYENV)/bin/python bench/download_bench.py --toxiproxy "$$toxiproxy"

.PHONY: terraform-validate
terraform-validate: ## build the AWS provider once (a long build, cached) and run terraform validate
	@terraform/validate.sh

.PHONY: test-terraform
test-terraform: ## terraform fmt/validate, checkov and the HCL security tests
	@terraform/test.sh
