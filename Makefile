# The two commands of the README: `make run` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000
SANDBOX_PORT ?= 8100

.PHONY: run test fuzz install install-dev lint schema clean

# The demo pays through the loopback sandbox gateway (gridbill gateway), never Razorpay.
run: export RAZORPAY_KEY_SECRET ?= sandbox_key_secret
run: export RAZORPAY_WEBHOOK_SECRET ?= sandbox_webhook_secret
run: export RAZORPAY_BASE_URL ?= http://127.0.0.1:$(SANDBOX_PORT)
run: export GRIDBILL_BASE_URL ?= http://$(HOST):$(PORT)
run: install ## install, migrate the embedded SQLite database, load demo data, serve (with the sandbox gateway and a mail catcher)
	@$(BIN)/python -m gridbill.ports $(HOST):$(PORT) 127.0.0.1:$(SANDBOX_PORT)
	$(BIN)/gridbill migrate
	$(BIN)/gridbill demo-data --if-empty --served
	@sh -c '$(BIN)/gridbill gateway --port $(SANDBOX_PORT) & gw=$$!; $(BIN)/gridbill mailcatcher & mc=$$!; trap "kill $$gw $$mc 2>/dev/null" EXIT INT TERM; $(BIN)/gridbill serve --host $(HOST) --port $(PORT)'

test: install-dev ## install with test tools; lint, type-check, test on SQLite and PostgreSQL
	$(BIN)/python scripts/check.py

FUZZ_EXAMPLES ?= 100
fuzz: install-dev ## a longer schemathesis run over the GraphQL schema (SQLite and PostgreSQL)
	GRIDBILL_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/python scripts/check.py tests/api/test_api_fuzz.py

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

$(VENV)/bin/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "gridbill needs Python 3.11 or newer (set PYTHON=python3.11)")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(VENV)/.installed-dev: pyproject.toml | $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@ $(VENV)/.installed

lint: install-dev
	$(BIN)/python scripts/check.py --lint-only

schema: install ## re-export docs/schema.graphql after changing GraphQL types
	$(BIN)/python -m api.export_schema > docs/schema.graphql

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
