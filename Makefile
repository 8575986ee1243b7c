# The two commands of the README: `make run` and `make test`. Everything else supports them.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
# Two stamps: `make run` installs the runtime and the local stack only; every other target the rest.
LOCAL_INSTALLED := $(VENV)/.local-installed
INSTALLED := $(VENV)/.installed
PIP := $(PY) -m pip install -q --disable-pip-version-check
NODE_INSTALLED := node_modules/.installed
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export CDK_DISABLE_VERSION_CHECK := 1

.PHONY: install test lint format run synth bench fuzz audit clean

install: $(INSTALLED)

$(LOCAL_INSTALLED): requirements-local.txt lambdas/requirements.txt pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) -r requirements-local.txt
	$(PIP) --no-deps -e .
	touch $@

$(INSTALLED): $(LOCAL_INSTALLED) requirements.txt
	$(PIP) -r requirements.txt
	touch $@

$(NODE_INSTALLED): package.json package-lock.json
	npm ci --no-audit --no-fund --silent
	touch $@

lint: $(INSTALLED)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: $(INSTALLED)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

test: lint $(NODE_INSTALLED)
	$(PY) -m pytest -n 2

run: $(LOCAL_INSTALLED)
	$(PY) -m local

bench: $(INSTALLED)
	$(PIP) -r bench/requirements.txt
	$(PY) -m bench

fuzz: $(INSTALLED)
	HYPOTHESIS_PROFILE=fuzz $(PY) -m pytest -n 2 tests/integration/test_upload_properties.py tests/integration/test_token_properties.py \
		tests/integration/test_importer_properties.py tests/e2e/test_api_fuzz.py
	LOAD_CLIENTS=40 LOAD_UPLOADS_PER_CLIENT=25 $(PY) -m pytest tests/e2e/test_load.py
	$(PY) -m pytest -m slow tests/e2e
	$(PY) -m pytest -m bundle tests/infra

audit: $(INSTALLED)
	$(PIP) pip-audit==2.10.1
	$(VENV)/bin/pip-audit --strict -r lambdas/requirements.txt -r requirements-local.txt -r requirements.txt

synth: $(INSTALLED) $(NODE_INSTALLED)
	CDK_DISABLE_CLI_TELEMETRY=true npx cdk synth --no-notices -q

clean:
	rm -rf $(VENV) node_modules cdk.out
