# Pulseboard: `make run` sets everything up and serves on http://127.0.0.1:8050; `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PB := $(BIN)/pulseboard
HOST ?= 127.0.0.1
PORT ?= 8050
# PostgreSQL tests use this database when it answers; they skip (or fail when CI=true) if not.
TEST_DATABASE_URL ?= postgresql+psycopg2://pulse:pulse@127.0.0.1:5432/pulse_test
export TEST_DATABASE_URL

.PHONY: install run test lint bench clean

$(VENV)/.installed: setup.cfg constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade "pip>=24" "setuptools>=68" wheel
	$(BIN)/pip install --quiet -c constraints.txt -e ".[test]"
	touch $@

install: $(VENV)/.installed

run: install
	$(PB) db upgrade
	$(PB) demo-data --if-empty
	$(PB) users ensure-demo
	@echo "Pulseboard on http://$(HOST):$(PORT)/  (stop with Ctrl+C)"
	$(PB) run --host $(HOST) --port $(PORT)

test: install
	$(BIN)/python -m pytest --headless

lint: install
	$(BIN)/ruff check .

bench: install
	$(BIN)/python -m benchmarks.run
	$(BIN)/python -m benchmarks.imports

clean:
	rm -rf $(VENV) instance .pytest_cache
