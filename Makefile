# Set-up is idempotent: `.venv/.installed` is rebuilt only when the dependency files change.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: install model serve test lint typecheck browser format bench clean

# requirements.lock pins what runs (the Docker image installs only it); requirements-dev.lock pins
# the development tools on top (pytest, mypy, ruff, selenium).
$(STAMP): pyproject.toml requirements.lock requirements-dev.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade "pip>=24"
	$(BIN)/python -m pip install -q -c requirements.lock -c requirements-dev.lock -e ".[dev]"
	touch $(STAMP)

install: $(STAMP) ## create .venv with the pinned dependencies and the `iccs` command

model: install ## make sure the default (champion) model exists; train it when missing
	$(BIN)/iccs model ensure

serve: model ## start the service on http://$(HOST):$(PORT) in development mode
	ICCS_ENV=development $(BIN)/iccs serve --host $(HOST) --port $(PORT)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

# The review page's browser test drives Debian's chromium through chromium-driver. Installed
# when missing (root, apt); elsewhere the test skips, except in CI (CI=true), where it fails.
browser: ## Debian's chromium and chromium-driver for the browser test (tests/service/test_review_page.py)
	@if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then :; \
	elif command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
		echo "installing Debian's chromium and chromium-driver"; \
		DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver \
			>/dev/null; \
	elif [ "$$CI" = true ]; then \
		echo "chromium and chromium-driver are missing and cannot be installed" >&2; exit 1; \
	else \
		echo "note: no chromium here; the browser test will be skipped"; \
	fi

test: lint typecheck browser ## lint, type-check and run the test suite
	$(BIN)/python -m pytest -q

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: model
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
