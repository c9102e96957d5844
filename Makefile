# Two entry points for a fresh machine: `make run` and `make test`. Each builds the
# virtualenv it needs from pyproject.toml, so nothing has to be installed by hand.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: run test lint typecheck check bench bench-memory bench-requests clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed-run

run: $(VENV)/.installed-run
	$(BIN)/scaleup db upgrade
	$(BIN)/scaleup dev

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed-test
	$(BIN)/ruff check bot handlers outreach tests benchmarks
	$(BIN)/mypy

check: lint test

bench: $(VENV)/.installed-test
	$(BIN)/python -m benchmarks.dispatch_throughput
	$(BIN)/python -m benchmarks.start_memory
	$(BIN)/python -m benchmarks.request_bounds

# Peak memory of a 10,000 x 5 campaign start, in a process of its own.
bench-memory: $(VENV)/.installed-test
	$(BIN)/python -m benchmarks.start_memory

# Peak memory of the web process under hostile requests, beside its baseline.
bench-requests: $(VENV)/.installed-test
	$(BIN)/python -m benchmarks.request_bounds

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
