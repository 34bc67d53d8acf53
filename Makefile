# make install | run | test | test-fast | lint | bench | clean
# Every target that needs the tools depends on `install`, which is a no-op once the
# stamp files are newer than the lock files.

SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
BIN := $(VENV)/bin
HOST := 127.0.0.1
PORT := 8000

.PHONY: help install run test test-fast lint bench clean

help:
	@echo "make install    Python deps into .venv (uv) and front-end assets into node_modules (npm)"
	@echo "make run        migrate, load demo data if the database is empty, serve on http://$(HOST):$(PORT)"
	@echo "make test       lint + SQLite + PostgreSQL + end-to-end suites (scripts/test.sh)"
	@echo "make test-fast  unit and integration tests on SQLite only"
	@echo "make lint       ruff, ruff format --check, mypy, makemigrations --check"
	@echo "make bench      the benchmark harness"
	@echo "make clean      remove var/ (local data!) and test-artifacts/"

install: $(VENV)/.stamp node_modules/.stamp

# uv comes from PATH, else from pip (user install). UV_PROJECT_ENVIRONMENT pins the
# environment to ./.venv whatever the caller's environment says.
$(VENV)/.stamp: pyproject.toml $(wildcard uv.lock)
	@set -euo pipefail; \
	uv=$$(command -v uv || true); \
	if [ -z "$$uv" ]; then \
		echo "uv not found; installing it with pip --user"; \
		python3 -m pip install --user --quiet uv 2>/dev/null \
			|| python3 -m pip install --user --quiet --break-system-packages uv \
			|| pip install --quiet uv; \
		uv=$$(command -v uv || echo "$$HOME/.local/bin/uv"); \
	fi; \
	export UV_PROJECT_ENVIRONMENT="$(CURDIR)/$(VENV)"; \
	if [ -f uv.lock ]; then "$$uv" sync --frozen; else "$$uv" sync; fi
	@touch $@

node_modules/.stamp: package.json $(wildcard package-lock.json)
	@if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi
	@touch $@

run: install
	$(BIN)/crm migrate
	$(BIN)/crm demo --if-empty
	@echo
	@echo "CRM is starting on http://$(HOST):$(PORT)"
	@echo "Demo logins:"
	@$(BIN)/crm demo --print-logins
	@echo
	exec $(BIN)/crm serve --host $(HOST) --port $(PORT)

test: install
	scripts/test.sh

test-fast: install
	$(BIN)/pytest -n 2 -m "not e2e"

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy crm config
	$(BIN)/crm makemigrations --check --dry-run

bench: install
	$(BIN)/python -m bench

clean:
	rm -rf var/ test-artifacts/
