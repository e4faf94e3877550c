# Liftoff: `make run` sets everything up and starts the dashboard; `make test` runs the suite.
.DEFAULT_GOAL := help
SHELL := /bin/bash

PORT ?= 8000
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.9
export UV_PROJECT_ENVIRONMENT := $(abspath $(VENV))
export UV_PYTHON_DOWNLOADS := never

# Django 6 needs Python 3.12+: take python3.13, python3.12, or one that pyenv installed.
PYTHON := $(shell for c in python3.13 python3.12 \
	$$(command -v pyenv >/dev/null 2>&1 && ls -d $$(pyenv root)/versions/3.1[3-9]*/bin/python $$(pyenv root)/versions/3.12*/bin/python 2>/dev/null | sort -rV) \
	python3; do \
	  p=$$(command -v $$c 2>/dev/null) || continue; \
	  $$p -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null && { echo $$p; break; }; \
	done)

.PHONY: help install run test lint fmt bench clean

help:
	@echo "make run    set up (venv, var/dev.env, migrations, demo data) and start web + worker + beat"
	@echo "           (full logs in var/logs/; then .venv/bin/python manage.py ... works in a new shell here)"
	@echo "make test   run the whole test suite"
	@echo "make lint   ruff"
	@echo "make bench  measure pages with wrk against gunicorn (PostgreSQL; see docs/performance.md)"
	@echo "make clean  remove .venv and var/ (data, logs, var/dev.env)"

$(BIN)/uv:
	@if [ -z "$(PYTHON)" ]; then echo "Liftoff needs Python 3.12 or newer: install python3.13 (or python3.12) and run make again." >&2; exit 1; fi
	@echo "Using $(PYTHON)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet uv==$(UV_VERSION)

# Re-sync only when the lock file changes: a second `make run` installs nothing.
$(VENV)/.synced: uv.lock pyproject.toml | $(BIN)/uv
	$(BIN)/uv sync --frozen --quiet
	@touch $@

# Every target of a checkout also writes the development file once (DEBUG=1 and a key of
# its own, in the data folder; never overwritten): `.venv/bin/python manage.py ...` then
# works in a new shell after any `make`, not only after `make run`. Production never runs
# make (the Dockerfile installs with uv) and sets DEBUG=0, which wins over the file.
install: $(VENV)/.synced
	@$(BIN)/python -c "from liftoff.env import dev_env_write; p = dev_env_write(); p and print(f'Wrote {p} (DEBUG=1, a generated SECRET_KEY) for this checkout.')"

run: install
	@$(BIN)/python -m liftoff.devserver --port $(PORT)

# Tests keep their own data folder and queue, so a running `make run` never sees them.
test: export LIFTOFF_DATA_DIR ?= $(CURDIR)/var/test
test: export LIFTOFF_QUEUE ?= liftoff-test
# Settings are built as in development (no HTTPS redirect on the test client); the
# production settings are checked by `check --deploy` in CI and in the suite.
test: export DEBUG ?= 1
# In parallel: one pytest-xdist process per core by default (TEST_WORKERS=0 runs in one
# process). Each has its own test database, Celery queue and data folder
# (tests/xdist_workers.py); much of a test's time is spent waiting on a real worker, git or
# Chromium, so the processes overlap well even on two cores.
TEST_WORKERS ?= auto
test: install
	$(BIN)/python -m pytest -n $(TEST_WORKERS) $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

fmt: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: install
	$(BIN)/python bench/pages.py

clean:
	rm -rf $(VENV) var
