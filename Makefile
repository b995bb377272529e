# The two commands: `make run` and `make test`. Both install what they need first.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
DATA_DIR ?= data
PORT ?= 8080

.PHONY: install run test lint schemas bench postgres chromium clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed

run: install
	$(BIN)/chb up --data-dir $(DATA_DIR) --port $(PORT)

# PostgreSQL runs on this machine and in CI; start it if it is down, so its tests run, not skip.
postgres:
	@if command -v pg_isready >/dev/null && ! pg_isready -q -h 127.0.0.1 -p 5432; then \
		pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start; \
		for i in $$(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done; \
	fi

# The pages' browser tests drive Debian's chromium (Playwright downloads no browser of its own).
chromium:
	@command -v chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium; }

# Two test processes, one per core of the 2-core machines CI runs on: most system tests wait on
# processes they started, so the suite takes ~7.5 minutes, not ~12 (pytest-xdist). Each file runs
# in one process (--dist loadfile): a file's browser and `chb up` are started once.
test: install postgres chromium
	$(BIN)/python -m pytest -n 2 --dist loadfile

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

schemas: install
	$(BIN)/chb contracts export

bench: install
	$(BIN)/python bench/pipeline.py

clean:
	rm -rf $(VENV) $(DATA_DIR) .pytest_cache .mypy_cache .ruff_cache
