# Two commands do all set-up on a fresh machine: `make synth` and `make test`.
# Each target builds the virtualenv it needs from pyproject.toml + .ci/lock/*.txt when missing or stale.

SHELL        := /bin/bash
.SHELLFLAGS  := -eu -o pipefail -c
PYTHON       ?= python3
ENV          ?= example
SARIF        ?=
VENV         := .venv
CHECKOV_VENV := .venv-checkov
PY           := $(VENV)/bin/python
CHECKOV      := $(CHECKOV_VENV)/bin/checkov
OUT          := cdktf.out
LOCK         := .ci/lock
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export PIP_DISABLE_PIP_VERSION_CHECK := 1

TF_PLUGIN_MIRROR ?=
.PHONY: help synth validate test test-fast browser unit integration lint fmt docs scan tf-check plan apply bench lock clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(VENV)/.stamp: pyproject.toml $(LOCK)/dev.txt
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --no-deps -r $(LOCK)/dev.txt
	$(VENV)/bin/pip check
	touch $@

$(CHECKOV_VENV)/.stamp: $(LOCK)/checkov.txt
	rm -rf $(CHECKOV_VENV)
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --no-deps -r $(LOCK)/checkov.txt
	touch $@

synth: $(VENV)/.stamp ## synthesize envs/$(ENV) into cdktf.out/ and print a summary
	$(PY) -m modules.platform synth --env $(ENV) --out $(OUT)

validate: $(VENV)/.stamp ## only load and validate envs/$(ENV)
	$(PY) -m modules.platform validate --env $(ENV)

test: $(VENV)/.stamp $(CHECKOV_VENV)/.stamp ## the whole test suite
	CHECKOV_BIN=$(CURDIR)/$(CHECKOV) $(PY) -m pytest

test-fast: $(VENV)/.stamp $(CHECKOV_VENV)/.stamp ## the suite without the tests marked slow or browser
	CHECKOV_BIN=$(CURDIR)/$(CHECKOV) $(PY) -m pytest -m "not slow and not browser"

browser: $(VENV)/.stamp ## headless Chromium for the browser tests (Debian's package: root and apt-get)
	$(PY) -m tests.support.chromium

unit: $(VENV)/.stamp ## unit tests only (fast)
	$(PY) -m pytest tests/unit

lint: $(VENV)/.stamp ## ruff format --check, ruff check, mypy
	$(VENV)/bin/ruff format --check modules functions tests
	$(VENV)/bin/ruff check modules functions tests
	$(VENV)/bin/mypy

fmt: $(VENV)/.stamp ## format and autofix
	$(VENV)/bin/ruff format modules functions tests
	$(VENV)/bin/ruff check --fix modules functions tests

docs: $(VENV)/.stamp ## regenerate the generated tables in module READMEs
	$(PY) -m modules.shared.docs --write

scan: synth $(CHECKOV_VENV)/.stamp ## checkov (built-in + modules/checkov_policies) on every stack of envs/$(ENV) (SARIF=file.sarif)
	$(PY) -m modules.platform scan --checkov $(CHECKOV) --out $(OUT) $(if $(SARIF),--sarif $(SARIF))

# Every env unless ENV is given on the command line (ENV's default, example, is for synth and scan).
tf-check: $(VENV)/.stamp ## terraform init + validate + mocked plan/apply of every stack of every env (ENV=one; TF_PLUGIN_MIRROR=dir)
	$(PY) -m modules.platform tf-check --work $(OUT)/tf-check \
	  $(if $(filter command line,$(origin ENV)),--env $(ENV)) $(if $(TF_PLUGIN_MIRROR),--mirror $(TF_PLUGIN_MIRROR))

plan apply: $(VENV)/.stamp ## synth, then terraform/tofu plan|apply each stack of envs/$(ENV) (ARGS=...)
	$(PY) -m modules.platform $@ --env $(ENV) --out $(OUT) -- $(ARGS)

bench: $(VENV)/.stamp ## benchmarks → bench-results/*.json and *.png
	$(PY) -m pytest tests/bench -q -p no:cacheprovider

lock: ## re-resolve .ci/lock/*.txt from pyproject.toml (needs the package index)
	rm -rf .venv-lock && $(PYTHON) -m venv .venv-lock
	.venv-lock/bin/pip install --quiet '.[dev]' && .venv-lock/bin/pip uninstall --quiet -y ses-platform
	.venv-lock/bin/pip freeze --exclude-editable | LC_ALL=C sort > $(LOCK)/dev.txt
	rm -rf .venv-lock && $(PYTHON) -m venv .venv-lock
	.venv-lock/bin/pip install --quiet "$$(grep -o 'checkov==[0-9.]*' pyproject.toml)"
	.venv-lock/bin/pip freeze | LC_ALL=C sort > $(LOCK)/checkov.txt
	rm -rf .venv-lock

clean: ## remove build output and virtualenvs (never the local Terraform state)
	rm -rf $(OUT) $(VENV) $(CHECKOV_VENV) .pytest_cache .mypy_cache .ruff_cache
