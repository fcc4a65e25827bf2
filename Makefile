# Lathe: one entry point for every task. `make help` lists them.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

ROOT := $(CURDIR)
STATE := $(ROOT)/.cluster
PYENV = $(shell hack/python-env.sh)
S3ENV = set -a && . $(STATE)/s3.env && set +a

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

.PHONY: s3-up s3-down
s3-up: ## start only the local S3 server (MinIO) and write .cluster/s3.env
	@hack/s3.sh up
s3-down: ## stop the local S3 server
	@hack/s3.sh down

.PHONY: python-env
python-env: ## create (once) the Python venv the image test suites use
	@hack/python-env.sh >/dev/null

.PHONY: test-trainer
test-trainer: s3-up python-env ## trainer-image pytest suite, against the local S3 server
	@$(S3ENV) && cd trainer-image && $(PYENV)/bin/python -m pytest -q tests

.PHONY: test-inference
test-inference: s3-up python-env ## inference-image pytest suite, against the local S3 server
	@$(S3ENV) && cd inference-image && $(PYENV)/bin/python -m pytest -q tests

.PHONY: test-terraform
test-terraform: ## terraform fmt/validate, checkov and the HCL security tests
	@terraform/test.sh
