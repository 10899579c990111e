# Two commands matter: `make run` starts the whole product, `make test` passes the tests.
# Both set up what they need first (a virtualenv with every Python package).
VENV ?= .venv
BIN := $(VENV)/bin
PYTHON ?= python3
PG_URL ?= postgresql://postgres@127.0.0.1:5432/test

.PHONY: install run test test-pg check lint types bench clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

run: install
	$(BIN)/journey up

test: install
	$(BIN)/pytest -q

test-pg: install
	DATABASE_URL=$(PG_URL) $(BIN)/pytest -q -m "not browser"

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

types: install
	$(BIN)/mypy

check: lint types test

bench: install
	$(BIN)/python -m tests.bench.bench_welcome

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache
