# The two commands of the README: `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-postgresql test-workers lint install audit clean

# sslyze (tests/integration/test_tls_scan.py) and pip-audit each live in a
# virtual environment of their own: they pin other versions of our libraries.
SSLYZE := .venv-sslyze
SSLYZE_STAMP := $(SSLYZE)/.installed
AUDIT := .venv-audit

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c constraints.txt -e '.[test]'
	touch $(STAMP)

$(SSLYZE_STAMP): requirements-sslyze.txt
	test -x $(SSLYZE)/bin/python || $(PY) -m venv $(SSLYZE)
	$(SSLYZE)/bin/pip install -q -r requirements-sslyze.txt
	touch $(SSLYZE_STAMP)

install: $(STAMP)

# Runs every listener on the embedded store in ./var, on unprivileged loopback ports.
run: $(STAMP)
	$(BIN)/postbus --config dev.toml init-demo
	$(BIN)/postbus --config dev.toml serve

lint: $(STAMP)
	$(BIN)/ruff check src tests bench tools
	$(BIN)/mypy

# The whole suite on the embedded store; then, side by side (output kept whole
# per pass), the integration and client tests again with every server on
# PostgreSQL (127.0.0.1:5432) and again with two worker processes per server.
test: $(STAMP) $(SSLYZE_STAMP) lint
	$(BIN)/python -m pytest -q
	$(MAKE) --no-print-directory -j2 --output-sync=target test-postgresql test-workers

test-postgresql: $(STAMP)
	POSTBUS_TEST_STORAGE=postgresql $(BIN)/python -m pytest -q tests/integration

# The integration and client tests again with every `postbus serve` running two
# worker processes (SQLite; tests/integration/test_workers.py always uses two).
# Left out: the in-process outbound-queue tests (no `postbus serve`) and, for
# CI's time, the API matrix and schema tests, the TLS scan, backup and migrate,
# which test no process behaviour (they pass with two workers too).
test-workers: $(STAMP)
	POSTBUS_TEST_WORKERS=2 $(BIN)/python -m pytest -q tests/integration \
		--ignore=tests/integration/test_outbound_queue.py --ignore=tests/integration/test_outbound_remote.py \
		--ignore=tests/integration/test_api_authz.py --ignore=tests/integration/test_api_schemathesis.py \
		--ignore=tests/integration/test_tls_scan.py --ignore=tests/integration/test_backup.py \
		--ignore=tests/integration/test_migrate.py

# Known vulnerabilities in the locked dependencies (pip-audit asks PyPI's
# vulnerability data, which must be within reach), after a report of the
# locked runtime dependencies that are behind their latest release.
audit: $(STAMP)
	test -x $(AUDIT)/bin/python || $(PY) -m venv $(AUDIT)
	$(AUDIT)/bin/pip install -q -r requirements-audit.txt
	$(BIN)/python tools/dependency_report.py constraints.txt
	grep -v '^#' constraints.txt > $(AUDIT)/locked.txt
	$(AUDIT)/bin/pip-audit --strict --no-deps --disable-pip -r $(AUDIT)/locked.txt
	$(AUDIT)/bin/pip-audit --strict --no-deps --disable-pip -r requirements-sslyze.txt

clean:
	rm -rf $(VENV) $(SSLYZE) $(AUDIT) var
