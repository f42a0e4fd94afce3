# Everyday commands. Each target installs what it needs first (into .venv and node_modules).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export PYTHONDONTWRITEBYTECODE := 1
# No update check against HashiCorp (unreachable offline, and CDKTF is archived).
export CHECKPOINT_DISABLE := 1

.PHONY: install synth test snapshot-update clean

$(VENV)/.installed: requirements.txt requirements-dev.txt constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt -c constraints.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

install: $(VENV)/.installed node_modules/.installed  ## Python venv and the pinned cdktf CLI

synth: install  ## Synthesize every stack into cdktf.out/ (through the cdktf CLI)
	npx --no-install cdktf synth

test: $(VENV)/.installed  ## Run the test suite
	$(PY) -m pytest -p no:cacheprovider

snapshot-update: $(VENV)/.installed  ## Rewrite the JSON snapshots on purpose; review the diff
	$(PY) -m pytest -p no:cacheprovider tests/test_snapshot.py --snapshot-update

clean:  ## Remove build output (never state files)
	rm -rf cdktf.out .pytest_cache .hypothesis
