# musicsite: `make run` serves the site on embedded defaults, `make test` runs the suite.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run setup test test-fast lint format bench bench-catalog bench-ingest bench-recsys bench-feed bench-generator browser clean fuzz-api

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is needed (python3.11 not found)"; exit 1; }
	@echo "==> Creating the virtual environment in $(VENV) (first run only)"
	@test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	@$(VENV)/bin/pip install --progress-bar on -q --upgrade pip
	@# The CPU build of torch first: a plain resolve would pull several GB of CUDA packages.
	@echo "==> Installing PyTorch (CPU build) and the pinned dependencies (a few minutes, once)"
	@$(VENV)/bin/pip install --progress-bar on torch==2.13.0
	@$(VENV)/bin/pip install --progress-bar on -e ".[dev]"
	@touch $@

# `make setup` and `make run` are development: DEBUG and demo mode (the published demo logins)
# on unless the environment says otherwise. Settings read .env themselves (the environment
# first), so honcho is given none: its .env would override these.
setup run: export DJANGO_DEBUG ?= true
setup run: export DJANGO_DEMO_MODE ?= true

setup: $(STAMP)
	@echo "==> Migrating the database (var/db.sqlite3 unless DATABASE_URL is set)"
	@$(PY) manage.py migrate --noinput -v 0
	@$(PY) manage.py collectstatic --noinput -v 0
	@$(PY) manage.py setup_demo

run: setup
	@PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VENV)/bin/honcho -f musicsite/Procfile -e /dev/null start

# Debian's Chromium drives the browser tests; Playwright never downloads a browser of its own.
browser:
	@test -x /usr/bin/chromium || { \
	  echo "==> Installing Chromium for the browser tests (apt-get install chromium)"; \
	  apt-get -o DPkg::Lock::Timeout=600 update -q && \
	  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q chromium; }

test: $(STAMP) browser
	$(PY) -m pytest

test-fast: $(STAMP)
	$(PY) -m pytest -m "not e2e and not slow"

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: bench-catalog bench-ingest bench-recsys bench-feed bench-generator

bench-catalog: $(STAMP)
	$(PY) bench/catalog.py

bench-ingest: $(STAMP)
	$(PY) bench/ingest.py

bench-recsys: $(STAMP)
	$(PY) bench/recsys.py

bench-feed: $(STAMP)
	$(PY) bench/feed.py

bench-generator: $(STAMP)
	$(PY) bench/generator.py

# schemathesis against the API's schema on gunicorn, all checks, with a token and anonymously:
# prints cases, checks and failures by kind; fails on any 5xx (FUZZ_MAX_EXAMPLES, FUZZ_SEED).
fuzz-api: $(STAMP)
	$(PY) bench/fuzz_api.py

clean:
	rm -rf var
