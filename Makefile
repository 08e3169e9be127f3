# 综治中心信息平台 (zongzhi) — the two commands are `make run` and `make test`.
# Needs only Python 3.11+, Node.js/npm and make; everything else is installed by `make setup`.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.zz-installed
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: help setup assets run test lint format browser-deps bench clean

help:
	@echo "make run           set up, migrate, load the demo data, serve http://127.0.0.1:8000"
	@echo "make test          set up, lint, run the tests on SQLite and (when reachable) PostgreSQL"
	@echo "make setup         create .venv, install the project and the front-end assets"
	@echo "make lint          ruff check, ruff format --check, mypy, import-linter"
	@echo "make format        ruff format + ruff check --fix"
	@echo "make browser-deps  install Debian's chromium for the browser tests"
	@echo "make bench         run the benchmarks in bench/"

# --- setup ----------------------------------------------------------------------------------------
$(PY):
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required, found " + sys.version.split()[0])'
	$(PYTHON) -m venv $(VENV)

# Reinstall only when the project's metadata changed.
$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $@

setup: $(STAMP) assets

assets:
	@bash scripts/assets.sh

# --- the two commands -------------------------------------------------------------------------------
run: setup
	@mkdir -p var
	DJANGO_SETTINGS_MODULE=config.settings.dev $(PY) manage.py migrate --no-input
	DJANGO_SETTINGS_MODULE=config.settings.dev $(PY) manage.py seed_demo
	DJANGO_SETTINGS_MODULE=config.settings.dev $(PY) manage.py seed_demo_cases
	DJANGO_SETTINGS_MODULE=config.settings.dev $(PY) manage.py seed_demo_people
	DJANGO_SETTINGS_MODULE=config.settings.dev $(PY) manage.py seed_demo_disputes
	DJANGO_SETTINGS_MODULE=config.settings.dev $(PY) manage.py rebuild_facts
	DJANGO_SETTINGS_MODULE=config.settings.dev $(PY) manage.py seed_demo_insight
	DJANGO_SETTINGS_MODULE=config.settings.dev $(PY) manage.py runserver 127.0.0.1:8000

test: setup browser-deps
	@$(MAKE) --no-print-directory lint-only
	@bash scripts/test.sh

# --- quality ---------------------------------------------------------------------------------------------
lint: setup
	@$(MAKE) --no-print-directory lint-only

.PHONY: lint-only
lint-only:
	@echo "== ruff check";         $(VENV)/bin/ruff check .
	@echo "== ruff format --check"; $(VENV)/bin/ruff format --check .
	@echo "== mypy";               $(VENV)/bin/mypy
	@echo "== import-linter";      $(VENV)/bin/lint-imports --no-cache

format: setup
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# --- extras ------------------------------------------------------------------------------------------------
browser-deps:
	@bash scripts/browser-deps.sh

bench: setup
	@bash scripts/bench.sh

clean:
	rm -rf node_modules zongzhi/static/vendor var/staticfiles .mypy_cache .ruff_cache
