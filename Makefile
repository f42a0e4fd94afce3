# Everyday commands. Each target installs what it needs first (into .venv and node_modules).
#
# ENGINE chooses the CDK: cdktf (default: HashiCorp's CDK for Terraform 0.21, archived) or cdktn
# (CDK Terrain, its maintained fork). Each has its own Python environment and CLI, so switching back
# and forth rebuilds nothing: make synth ENGINE=cdktn, make test ENGINE=cdktn. IAC_ENGINE in the
# environment sets the default (the app reads it too: constructs_lib/cdk/engine.py).
PYTHON ?= python3
ENGINE ?= $(or $(IAC_ENGINE),cdktf)
ifeq ($(ENGINE),cdktf)
VENV := .venv
REQUIREMENTS := requirements.txt
ENGINE_PACKAGES := cdktf cdktf_cdktf_provider_aws
NODE_DIR := .
CLI_NAME := the pinned cdktf CLI
# The app command is cdktf.json's (.venv/bin/python main.py).
SYNTH := npx --no-install cdktf synth
else ifeq ($(ENGINE),cdktn)
VENV := .venv-cdktn
REQUIREMENTS := requirements-cdktn.txt
ENGINE_PACKAGES := cdktn cdktn_provider_aws
NODE_DIR := engines/cdktn
CLI_NAME := the pinned CDK Terrain CLI and the Node 22 it needs
# cdktn-cli needs Node 22, which engines/cdktn/node_modules/.bin provides (the npm package node).
SYNTH := PATH="$(CURDIR)/$(NODE_DIR)/node_modules/.bin:$$PATH" cdktn synth --app "$(VENV)/bin/python main.py"
else
$(error ENGINE=$(ENGINE): must be cdktf or cdktn)
endif
export IAC_ENGINE := $(ENGINE)
PY := $(VENV)/bin/python
# The fast tier on every core (TEST_WORKERS=0: in one process, for pdb); a worker takes whole modules,
# so each module's fixtures are made once. benchmarks/bench.py times this same command.
TEST_WORKERS ?= auto
FAST_TIER := -n $(TEST_WORKERS) --dist loadscope --ignore=tests/slow
BASE ?= origin/main
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export PYTHONDONTWRITEBYTECODE := 1
# No update check against HashiCorp (unreachable offline, and CDKTF is archived).
export CHECKPOINT_DISABLE := 1
# A TF_CLI_CONFIG_FILE naming a missing file makes every terraform command (and the cdktf CLI)
# print a warning: use an empty configuration instead.
ifneq ($(TF_CLI_CONFIG_FILE),)
ifeq ($(wildcard $(TF_CLI_CONFIG_FILE)),)
export TF_CLI_CONFIG_FILE := /dev/null
endif
endif

.PHONY: help install synth check test test-slow snapshot-update docs lint security diff serve serve-local outputs verify rehearse preflight cost bench pr clean

help:  ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 18

$(VENV)/.installed: $(REQUIREMENTS) requirements-dev.txt constraints.txt
	@echo "Installing the $(ENGINE) engine's Python environment into $(VENV) (the first time takes a few minutes) ..."
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r $(REQUIREMENTS) -r requirements-dev.txt -c constraints.txt
	@# main.py synthesizes under python -O; compile the CDK's bytecode for it once (the bindings are
	@# thousands of modules, and a machine with PYTHONDONTWRITEBYTECODE would recompile them every synth).
	$(PY) -O -m compileall -q -j 0 $$($(PY) -c "import importlib.util as u, os; print(' '.join(os.path.dirname(u.find_spec(m).origin) for m in ('$(word 1,$(ENGINE_PACKAGES))', '$(word 2,$(ENGINE_PACKAGES))', 'constructs', 'jsii', 'typeguard')))") > /dev/null
	touch $@

$(NODE_DIR)/node_modules/.installed: $(NODE_DIR)/package.json $(NODE_DIR)/package-lock.json
	@echo "Installing $(CLI_NAME) into $(NODE_DIR)/node_modules (npm ci) ..."
	cd $(NODE_DIR) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

install: $(VENV)/.installed $(NODE_DIR)/node_modules/.installed  ## Python venv and the pinned CLI of ENGINE (cdktf, default, or cdktn)

synth: install  ## Synthesize every stack into cdktf.out/ through the CLI (ENGINE=cdktn: CDK Terrain's); CDKTF_CONTEXT_JSON overrides settings
	@$(PY) main.py --check
	$(SYNTH)

check: $(VENV)/.installed  ## Validate settings.json (and any CDKTF_CONTEXT_JSON override) without synthesizing
	@$(PY) main.py --check

test: $(VENV)/.installed $(NODE_DIR)/node_modules/.installed  ## Run the test suite (snapshots, the security gate's rules, make as users run it) on every core
	$(PY) -m pytest -p no:cacheprovider $(FAST_TIER)

test-slow: $(VENV)/.installed $(NODE_DIR)/node_modules/.installed  ## The slow tier: the CLI as typed, the plain import, both engines, terraform validate and plan
	$(PY) -m pytest -p no:cacheprovider tests/slow

snapshot-update: $(VENV)/.installed  ## Rewrite the JSON snapshots on purpose; review the diff
	$(PY) -m pytest -p no:cacheprovider tests/test_snapshot.py --snapshot-update

# The pages tools/gen_docs.py renders from the project's sources; tests/test_docs.py fails when one is stale.
docs: $(VENV)/.installed  ## Regenerate the generated docs (docs/security.md ...)
	$(PY) tools/gen_docs.py

lint: $(VENV)/.installed  ## ruff, ruff format --check, mypy on constructs_lib, benchmarks and examples, actionlint
	@echo "Linting (ruff, ruff format --check, mypy, actionlint) ..."
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/actionlint

security: $(VENV)/.installed  ## Synthesize, then run the checkov gate over every stack
	$(PY) main.py
	$(PY) -m security.gate

# The base's worktree is removed on every way out (success, failure, Ctrl-C): a leftover would make
# every later `git worktree add` refuse.
DIFF_CLEANUP := git worktree remove --force .diff-base > /dev/null 2>&1; rm -rf .diff-base .diff-base.out; git worktree prune
diff: $(VENV)/.installed  ## Synth diff of this tree against BASE (default origin/main) as Markdown
	@trap '$(DIFF_CLEANUP)' EXIT; trap 'exit 130' INT TERM; \
	$(DIFF_CLEANUP); \
	echo "Synthesizing $(BASE) and this tree (about 10 s) ..." >&2; \
	git worktree add --quiet --detach .diff-base $(BASE) && \
	(cd .diff-base && CDKTF_OUTDIR=../.diff-base.out ../$(PY) main.py > /dev/null) && \
	$(PY) main.py > /dev/null && \
	$(PY) tools/synth_diff.py .diff-base.out cdktf.out

serve: $(VENV)/.installed  ## The function behind a local API Gateway-like server on 127.0.0.1:8000
	$(PY) tools/serve.py --port $${PORT:-8000}

serve-local: $(VENV)/.installed  ## The same, with a local table (moto, in-process): the items routes work
	$(PY) tools/serve.py --port $${PORT:-8000} --local-aws

# Quiet (@): with OUTPUT=NAME, stdout is the value alone: make -s outputs ENV=dev OUTPUT=api_urls.
# ENV from the command line only: some shells export an ENV of their own (sh's startup file); the
# refusal says so when the shell has one.
OUTPUTS_ENV = $(if $(filter command line,$(origin ENV)),$(ENV),)
ENV_IGNORED = $(if $(filter environment,$(origin ENV)), (an ENV exported by the shell is not read: shells use it for a startup file),)
outputs: $(VENV)/.installed  ## ENV's outputs over its stacks as one JSON (OUTPUT=name, OUTPUTS_FILE=file, SHOW_SENSITIVE=1)
	@test -n "$(OUTPUTS_ENV)" || { echo "error: name the environment: make outputs ENV=dev$(ENV_IGNORED)" >&2; exit 2; }
	@$(PY) tools/outputs.py "$(OUTPUTS_ENV)" $(if $(OUTPUTS_FILE),--outputs-file "$(OUTPUTS_FILE)") \
		$(if $(OUTPUT),--output "$(OUTPUT)") $(if $(SHOW_SENSITIVE),--show-sensitive)

# After a deploy (tools/verify.py): exit 0 when every check passed, else make's 2 (the tool's own
# codes: 1 a check failed, 2 unusable input). REGION, like ENV, from the command line only.
VERIFY_REGION = $(if $(filter command line,$(origin REGION)),$(REGION),)
verify: $(VENV)/.installed  ## After a deploy: ENV's regions answer, replicate and process events (REGION=, OUTPUTS_FILE=)
	@test -n "$(OUTPUTS_ENV)" || { echo "error: name the environment: make verify ENV=dev$(ENV_IGNORED)" >&2; exit 2; }
	@$(PY) tools/verify.py "$(OUTPUTS_ENV)" $(if $(OUTPUTS_FILE),--outputs-file "$(OUTPUTS_FILE)") \
		$(if $(VERIFY_REGION),--region "$(VERIFY_REGION)")

rehearse: $(VENV)/.installed  ## make verify against ENV rehearsed on this machine (moto, local APIs, the worker; FAULT=)
	@$(PY) tools/rehearse.py $(if $(OUTPUTS_ENV),"$(OUTPUTS_ENV)") $(if $(FAULT),--fault "$(FAULT)")

preflight: $(VENV)/.installed  ## Before a first deploy: Terraform, the registry, credentials, the bootstrap, quotas, the zone (changes nothing)
	@$(PY) tools/preflight.py

cost: $(VENV)/.installed  ## Fixed monthly cost of every stack and region, from a fresh synth (BASE_OUT=dir: compared with another synth)
	@$(PY) main.py > /dev/null
	@$(PY) tools/cost.py cdktf.out $(if $(BASE_OUT),--base $(BASE_OUT))

bench: $(VENV)/.installed  ## Synth and test-suite benchmark: the table in docs/performance.md
	$(PY) benchmarks/bench.py

pr: lint test test-slow security  ## Everything CI runs on a pull request for this ENGINE (but the plan against AWS)

clean:  ## Remove build output (never state files) and a leftover diff worktree
	rm -rf cdktf.out .pytest_cache .hypothesis .diff-base .diff-base.out
	-git worktree prune 2> /dev/null
