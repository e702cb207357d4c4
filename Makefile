# The two commands: `make run` and `make test`. Both set everything up themselves.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
TRAIN_STAMP := $(VENV)/.installed-train
SAM_VENV := .venv-sam
SAM      := $(SAM_VENV)/bin/sam
# sam build targets python3.12; these machines keep it under pyenv.
PY312  ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.12*/bin/python3.12 /root/.pyenv/versions/3.12*/bin/python3.12) $(shell command -v python3.12))
export SAM_CLI_TELEMETRY := 0
# These machines set PYTHONDONTWRITEBYTECODE: with no cached bytecode every pytest process compiles
# its plugins (assertions rewritten) and our modules again, 4.9 s of start-up instead of 2.6 s.
# The mutation runner still keeps bytecode off in its mutated copies.
unexport PYTHONDONTWRITEBYTECODE
TORCH_VERSION ?= 2.13.0


.PHONY: run test test-fast setup lint check-template sam-build bench train mutants web clean help

# The browser tests drive Debian's chromium (Playwright's own download cannot work offline).
CHROMIUM ?= /usr/bin/chromium
export TICKERWATCH_CHROMIUM := $(CHROMIUM)
WEB_SOURCES := $(shell find web/src web/public -type f 2>/dev/null) web/index.html web/vite.config.js

help:
	@echo "make run       - set up and start the local stack (web client and API on :8000, jobs, embedded Postgres)"
	@echo "make test      - set up, lint, check the templates, run every test, kill every mutant (9-12.5 min on 2 cores)"
	@echo "make test-fast - the unit tests and the quick integration tests (about a minute)"
	@echo "make mutants   - plant each bug of the mutation catalogue; every one must be caught"

# uv installs the venvs (and the Lambda layers, layers/Makefile): a fresh clone's set-up took 68 s with
# pip (the SAM CLI's venv 65 s beside it), 17 s with uv. It compiles nothing at install time; Python
# compiles and caches what is imported, once (PYTHONDONTWRITEBYTECODE is unexported above).
UV := $(BIN)/uv
# uv reads no pip.conf: a folder of wheels that pip is pointed at (torch's CPU build on these
# machines) is passed on.
FIND_LINKS ?= $(or $(PIP_FIND_LINKS),$(shell $(PYTHON) -m pip config get global.find-links 2>/dev/null))
UV_INSTALL = $(UV) pip install --quiet $(if $(FIND_LINKS),--find-links $(FIND_LINKS))

$(UV):
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet 'uv>=0.9'

$(STAMP): pyproject.toml $(UV)
	$(UV_INSTALL) --python $(BIN)/python -e '.[dev]'
	touch $(STAMP)

# Training (and its test) only. torch is pinned: on these machines 2.13.0 is a CPU wheel on disk,
# while an unpinned torch is a multi-GB CUDA download. Elsewhere set TORCH_INDEX to PyTorch's CPU index.
# One install for everything (the app, dev and train extras, torch): a fresh clone's set-up resolves once.
$(TRAIN_STAMP): pyproject.toml $(UV)
	$(UV_INSTALL) --python $(BIN)/python $(if $(TORCH_INDEX),--extra-index-url $(TORCH_INDEX)) \
		-e '.[dev,train]' 'torch==$(TORCH_VERSION)'
	touch $(STAMP) $(TRAIN_STAMP)

# AWS SAM CLI in its own venv: its pins must not constrain the application's.
$(SAM): $(UV)
	test -d $(SAM_VENV) || $(PYTHON) -m venv $(SAM_VENV)
	$(UV_INSTALL) --python $(SAM_VENV)/bin/python aws-sam-cli

run: $(STAMP) web/dist/index.html
	$(BIN)/tickerwatch serve

# The static web client (web/dist), rebuilt when its sources change.
web: web/dist/index.html

web/node_modules/.package-lock.json: web/package.json web/package-lock.json
	cd web && npm ci --no-audit --no-fund

web/dist/index.html: web/node_modules/.package-lock.json $(WEB_SOURCES)
	cd web && npm run build

$(CHROMIUM):
	if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium; \
	else sudo apt-get update -qq && sudo apt-get install -y -qq chromium; fi

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

check-template: $(STAMP) $(SAM)
	$(BIN)/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/deploy.yml
	$(SAM) validate --lint --region us-east-1

sam-build: $(SAM) $(STAMP)
	PATH="$(dir $(PY312)):$$PATH" UV="$(abspath $(BIN))/uv" $(SAM) build --parallel

# What every test needs, installed side by side (the venvs, the SAM CLI, the web build, chromium).
setup: $(TRAIN_STAMP) $(SAM) web/dist/index.html $(CHROMIUM)

# Each stage leaves a timestamp in $(TIMING); tests/timing.py prints where the time went.
TIMING := .test-timing
# One worker a core: a third worker measured no faster (385 s against 376 s for the suite).
PYTEST_WORKERS ?= 2
mark = @date +%s.%N > $(TIMING)/$(1)

test:
	@rm -rf $(TIMING) && mkdir -p $(TIMING)
	$(call mark,0-start)
	@$(MAKE) --no-print-directory -j4 setup
	$(call mark,1-set-up)
	@$(MAKE) --no-print-directory -j2 lint check-template
	$(call mark,2-lint-and-templates)
	PATH="$(dir $(PY312)):$(abspath $(SAM_VENV))/bin:$$PATH" $(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadgroup \
		--junitxml=$(TIMING)/junit.xml
	$(call mark,3-tests)
	@$(MAKE) --no-print-directory mutants MUTANT_FLAGS="--green-from $(TIMING)/junit.xml"
	$(call mark,4-mutants)
	@$(BIN)/python tests/timing.py $(TIMING)

# The inner loop: unit tests and the integration tests under half a second (tests/slow-tests.txt
# lists the others), on the real embedded Postgres; no browser, no sam build, no mutants.
test-fast: $(STAMP)
	$(BIN)/pytest -n $(PYTEST_WORKERS) --fast-lane -q

# Plants each bug of tests/mutants/catalogue.toml in turn; every one must make a test fail.
# Three workers on two cores: a mutant's run waits on Postgres and servers as much as it computes
# (303 mutants: 236 s against 253 s with two, one after the other on the same tree).
MUTANT_JOBS ?= 3
MUTANT_FLAGS ?=
mutants: $(STAMP)
	$(BIN)/python tests/mutants/run.py --jobs $(MUTANT_JOBS) $(MUTANT_FLAGS)

bench: $(STAMP)
	for b in bench/[a-z]*.py; do $(BIN)/python $$b || exit 1; done

train: $(TRAIN_STAMP)
	$(BIN)/tickerwatch train --data csv:../shared/data --tickers TSLA GOOG

clean:
	rm -rf .aws-sam .pytest_cache .ruff_cache .mutants web/dist .e2e-artifacts .hypothesis .test-timing
