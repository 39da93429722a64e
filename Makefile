# musicsite: `make run` serves the site on embedded defaults, `make test` runs the suite.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run prepare setup lock test test-fast lint format schema bench bench-catalog bench-ingest bench-recsys bench-feed bench-generator bench-personal bench-generator-select bench-generator-nll bench-generator-rolls browser clean fuzz-api

# Every install takes its versions from the lock files (`make lock` writes them from
# pyproject.toml): requirements-dev.lock for the venv, requirements.lock (runtime only) for the
# image. torch itself is not in them: its build depends on the machine (the CPU build here).
LOCK := requirements.lock
DEV_LOCK := requirements-dev.lock
TORCH := torch==2.13.0

$(STAMP): $(DEV_LOCK) pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is needed (python3.11 not found)"; exit 1; }
	@echo "==> Creating the virtual environment in $(VENV) (first run only)"
	@test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	@$(VENV)/bin/pip install --progress-bar on -q --upgrade pip
	@echo "==> Installing the locked dependencies and PyTorch (a few minutes, once)"
	@$(VENV)/bin/pip install --progress-bar on -r $(DEV_LOCK)
	@# torch after the lock: its dependencies are installed already, so this adds torch alone
	@# (the CPU build on these machines; a plain PyPI resolve elsewhere adds its CUDA packages).
	@$(VENV)/bin/pip install --progress-bar on $(TORCH)
	@$(VENV)/bin/pip install -q --no-deps -e .
	@$(VENV)/bin/pip check
	@touch $@

# `make lock` resolves pyproject.toml for Python 3.11 on x86-64 Linux with uv (installed in
# var/lock-tools, apart from the project) against the CPU build of torch, so no CUDA package
# enters the lock. TORCH_CPU_WHEELS: a folder or page with that wheel. The runtime lock is
# resolved within the dev lock, so both pin the same versions.
UV_VERSION := 0.13.9
UV := var/lock-tools/bin/uv
TORCH_CPU_WHEELS ?= $(if $(wildcard /opt/wheels/torch-*),/opt/wheels,https://download.pytorch.org/whl/cpu/torch/)
LOCK_FLAGS := --quiet --python-version 3.11 --python-platform x86_64-manylinux_2_28 --generate-hashes \
	--find-links $(TORCH_CPU_WHEELS) --no-emit-package torch

lock:
	@test -x $(UV) || { $(PYTHON) -m venv var/lock-tools && var/lock-tools/bin/pip install -q uv==$(UV_VERSION); }
	UV_CUSTOM_COMPILE_COMMAND="make lock" $(UV) pip compile pyproject.toml --extra dev $(LOCK_FLAGS) -o $(DEV_LOCK)
	UV_CUSTOM_COMPILE_COMMAND="make lock" $(UV) pip compile pyproject.toml -c $(DEV_LOCK) $(LOCK_FLAGS) -o $(LOCK)
	@! grep -iE '^(nvidia-|triton)' $(DEV_LOCK) $(LOCK) || { echo "CUDA packages in the lock: resolve against the CPU build of torch (TORCH_CPU_WHEELS)"; exit 1; }
	@echo "==> $$(grep -c '^[a-z]' $(DEV_LOCK)) packages in $(DEV_LOCK), $$(grep -c '^[a-z]' $(LOCK)) in $(LOCK) (torch apart)"

# `make setup` and `make run` are development: DEBUG and demo mode (the published demo logins)
# on unless the environment says otherwise. Settings read .env themselves (the environment
# first), so honcho is given none: its .env would override these.
prepare setup run: export DJANGO_DEBUG ?= true
prepare setup run: export DJANGO_DEMO_MODE ?= true
# make run: the routine lines (a request, a task: thousands while the catalog renders) go to
# var/log/routine.log; the console keeps the warnings, a progress line and the logins.
run: export ROUTINE_LOG_FILE ?= $(CURDIR)/var/log/routine.log
run: export PYTHONUNBUFFERED = 1

prepare: $(STAMP)
	@echo "==> Migrating the database (var/db.sqlite3 unless DATABASE_URL is set)"
	@$(PY) manage.py migrate --noinput -v 0
	@$(PY) manage.py collectstatic --noinput -v 0

# Everything at once, in the foreground: the whole demo catalog is imported before it returns.
setup: prepare
	@$(PY) manage.py setup_demo

# The site starts at once; the Procfile's `demo` process (setup_demo --follow) imports the demo
# catalog in the background, shows its progress on the front page and prints the URL and the
# logins when the site answers, when the import ends and when every piece plays.
run: prepare
	@echo "==> Starting musicsite: the web server, the workers, beat and the demo setup"
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

# mypy checks the packages pyproject.toml names (not tests/ or bench/), loading the test settings.
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: bench-catalog bench-ingest bench-recsys bench-feed bench-generator bench-personal

bench-catalog: $(STAMP)
	$(PY) bench/catalog.py

bench-ingest: $(STAMP)
	$(PY) bench/ingest.py

bench-recsys: $(STAMP)
	$(PY) bench/recsys.py

bench-feed: $(STAMP)
	$(PY) bench/feed.py

# Simulated new listeners with random onboarding picks (issue 19): the share whose first page
# shows each of their specific picks, and of reasons naming a piece like the one recommended
# (BENCH_SEEDS, BENCH_LISTENERS; --catalog-from var/db.sqlite3 for the real demo catalog).
.PHONY: bench-feed-picks
bench-feed-picks: $(STAMP)
	$(PY) bench/feed_picks.py

bench-generator: $(STAMP)
	$(PY) bench/generator.py

# Simulated listeners: taste match and lift of their songs, and learning from their ratings
# (BENCH_SEEDS, BENCH_STYLES, BENCH_SONGS_PER_LISTENER...; see the script).
bench-personal: $(STAMP)
	$(PY) bench/personal.py

# Each candidate architecture for the same training time on the music21 corpus; the pick is
# the lowest validation NLL (SELECT_SECONDS, SELECT_CANDIDATES; see the script).
bench-generator-select: $(STAMP)
	$(PY) bench/generator_select.py

# Piano rolls of bench-generator's songs beside the pieces that inspired them.
bench-generator-rolls: $(STAMP)
	$(PY) bench/generator_rolls.py

# Held-out NLL per token of checkpoints on the same pieces (BENCH_CHECKPOINTS=a,b to compare).
bench-generator-nll: $(STAMP)
	$(PY) bench/generator_nll.py

# The committed schema (tests/api/test_openapi_committed.py checks it is current): generated,
# validated, no warnings; refused when it breaks the committed one (a removed path, operation,
# response field or enum value, a changed type) and the API version (SPECTACULAR_SETTINGS
# ["VERSION"]) is the same. Run it after any change to the API.
schema: $(STAMP)
	@mkdir -p var
	DJANGO_DEBUG=true $(PY) manage.py spectacular --validate --fail-on-warn --file var/openapi.new.yaml
	@if test -f openapi.yaml; then $(PY) -m musicsite.schema_diff openapi.yaml var/openapi.new.yaml; fi
	@mv var/openapi.new.yaml openapi.yaml
	@echo "==> openapi.yaml: $$(grep -c 'operationId:' openapi.yaml) operations"

# schemathesis against the API's schema on gunicorn, all checks, with a token and anonymously:
# prints cases, checks and failures by kind; fails on any 5xx (FUZZ_MAX_EXAMPLES, FUZZ_SEED).
fuzz-api: $(STAMP)
	$(PY) bench/fuzz_api.py

clean:
	rm -rf var
