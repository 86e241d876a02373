# The two commands of the README: `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint install clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c constraints.txt -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

# Runs every listener on the embedded store in ./var, on unprivileged loopback ports.
run: $(STAMP)
	$(BIN)/postbus --config dev.toml init-demo
	$(BIN)/postbus --config dev.toml serve

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy

# The whole suite on the embedded store, then the integration and client tests
# again with every server on PostgreSQL (127.0.0.1:5432).
test: $(STAMP) lint
	$(BIN)/python -m pytest -q
	POSTBUS_TEST_STORAGE=postgresql $(BIN)/python -m pytest -q tests/integration

clean:
	rm -rf $(VENV) var
