# Wharf's tooling, one command each. Needs only Python 3.11 and make: uv is brought in if missing.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3.11
# pytest-xdist workers for `make test` (one per core here; modules stay whole on one worker).
TEST_WORKERS ?= 2
UV_VERSION := 0.13.9
TOOLS := .tools
VENV := .venv
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)

# Prefer a uv on PATH; otherwise install the pinned one into .tools/ with pip.
UV := $(shell command -v uv 2>/dev/null || echo $(TOOLS)/bin/uv)

.PHONY: help install up test lint format bench docs clean sandbox-check browser-check

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(TOOLS)/bin/uv:
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet "uv==$(UV_VERSION)"

$(VENV)/.installed: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --python $(PYTHON) --all-extras
	@touch $@

install: $(VENV)/.installed  ## create .venv with wharf and everything the tests need

up: install sandbox-check  ## install, then start the platform on http://127.0.0.1:8080
	$(VENV)/bin/wharf up $(if $(DEMO),--demo)

# Loud, never fatal: a single-user machine on loopback still starts without the sandbox.
sandbox-check:
	@command -v bwrap >/dev/null 2>&1 || echo "WARNING: bubblewrap is not installed: user code \
	will run unconfined, as your own user. Install it: sudo apt-get install bubblewrap \
	(see docs/security.md)" >&2

# Loud, never fatal here: without Debian's chromium the console's browser tests skip (and fail
# the run in CI, where .ci/run installs it).
browser-check:
	@[ -x /usr/bin/chromium ] || echo "WARNING: chromium is not installed: the console's \
	browser tests (tests/browser) will be SKIPPED. Install it: sudo apt-get install chromium \
	fonts-liberation" >&2

test: install sandbox-check browser-check  ## install, then run the whole test suite
	@if [ -f package.json ]; then npm ci --no-audit --no-fund --loglevel=error; fi
	$(VENV)/bin/pytest -n $(TEST_WORKERS) --dist loadfile; status=$$?; \
	if [ $$status -eq 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi; exit $$status

lint: install  ## ruff, mypy --strict and the import-linter layer contracts
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports --no-cache

format: install  ## format the code
	$(VENV)/bin/ruff format src tests bench
	$(VENV)/bin/ruff check --fix src tests bench

bench: install  ## run the benchmarks (never part of the tests)
	$(VENV)/bin/python -m bench

docs: install  ## regenerate docs/settings.md and docs/cli.md
	$(VENV)/bin/python -m wharf.docs

clean:  ## remove the virtual environment and caches
	rm -rf $(VENV) $(TOOLS) .pytest_cache .mypy_cache .ruff_cache .import_linter_cache
