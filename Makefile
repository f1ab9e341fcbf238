# medtutor: `make run` serves the demo, `make test` runs the whole suite.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
PG_URL ?= postgres://postgres@127.0.0.1:5432/medtutor

.PHONY: run test test-sqlite test-postgres lint bench clean install

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "medtutor needs $(PYTHON) (Python 3.11 or newer); set PYTHON=..."; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall only when the dependency list or the lock changes, so a second `make run` starts in seconds.
$(STAMP): $(BIN)/python pyproject.toml requirements.lock
	$(BIN)/pip install --quiet -c requirements.lock -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

# The tests also cover the optional torch features (personal FSRS weights, the imaging CNN): the test
# environment adds the `ml` extra (torch CPU); `make run` does not need it.
ML_STAMP := $(VENV)/.installed-ml
$(ML_STAMP): $(STAMP)
	$(BIN)/pip install --quiet -c requirements.lock -e '.[dev,ml]'
	@touch $@

# A real Learning Record Store (ralph) for the xAPI tests, in its own virtualenv: its web stack's pins
# must not move medtutor's.
LRS_VENV := .venv-lrs
$(LRS_VENV)/.installed:
	$(PYTHON) -m venv $(LRS_VENV)
	$(LRS_VENV)/bin/pip install --quiet "ralph-malph[cli,lrs,backend-fs]==5.1.0" "requests>=2.31"
	@touch $@

run: $(STAMP)
	$(BIN)/medtutor migrate
	$(BIN)/medtutor demo load
	$(BIN)/medtutor serve --host $(HOST) --port $(PORT)

test: test-sqlite test-postgres lint

test-sqlite: $(ML_STAMP) $(LRS_VENV)/.installed
	$(BIN)/pytest -n 2

# The same suite on PostgreSQL (browser tests run once, on SQLite).
test-postgres: $(ML_STAMP) $(LRS_VENV)/.installed
	DATABASE_URL=$(PG_URL) $(BIN)/pytest -n 2 -m "not browser"

lint: $(STAMP)
	$(BIN)/lint-imports

bench: $(STAMP)
	@for script in benchmarks/bench_*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) $(LRS_VENV) var .pytest_cache .hypothesis
