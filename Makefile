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

.PHONY: install run test lint bench bench-pages load backtest clean

$(VENV)/.installed: setup.cfg constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade "pip>=24" "setuptools>=68" wheel
	$(BIN)/pip install --quiet -c constraints.txt -e ".[test]"
	touch $@

install: $(VENV)/.installed

# The development key and demo login are for development only: say so explicitly (without
# PULSEBOARD_ENV, `pulseboard run` and wsgi.py run in production and refuse them).
run: export PULSEBOARD_ENV = development
run: install
	$(PB) db upgrade
	$(PB) demo-data --if-empty
	$(PB) users ensure-demo
	@echo "Pulseboard on http://$(HOST):$(PORT)/  (stop with Ctrl+C)"
	$(PB) run --host $(HOST) --port $(PORT)

# Two xdist workers (the CI machine's two cores): each seeds its own databases. A file's
# tests stay on one worker, so its module fixtures (a PDF set, a benchmark run) are built
# once. Not --dist loadgroup: with pytest 9.2, xdist 3.8 cannot rename the tests it groups
# (Node.nodeid is derived), so its groups were never kept together.
TEST_WORKERS ?= 2
test: install
	$(BIN)/python -m pytest --headless -n $(TEST_WORKERS) --dist loadfile

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy

# Benchmarks write their sections of docs/performance.md. PostgreSQL runs need
# BENCH_DATABASE_URL (a database the benchmark may empty and refill). `make bench`: imports,
# then every page's refresh at BENCH_LINES lines; `make load`: 50 users for 5 minutes against
# gunicorn on the database bench-pages filled (it needs the PostgreSQL URL).
BENCH_LINES ?= 1000000
PERF_DOC = docs/performance.md
bench: install
	$(BIN)/python -m benchmarks.imports --output $(PERF_DOC)
	$(MAKE) bench-pages

bench-pages: install
	$(BIN)/python -m benchmarks.pages --lines $(BENCH_LINES) $(if $(BENCH_DATABASE_URL),--postgres $(BENCH_DATABASE_URL)) $(if $(BENCH_REUSE),--reuse-postgres) --save-recording instance/bench-recording.json --output $(PERF_DOC)

load: install
	$(BIN)/python -m benchmarks.load --database-url $(BENCH_DATABASE_URL) --recording instance/bench-recording.json --users 50 --duration 300 --think 2 8 --output $(PERF_DOC)

# The forecast's rolling-origin backtest on the UCI Online Retail file (docs/forecasting.md).
backtest: install
	$(BIN)/python -m services.forecast_backtest

clean:
	rm -rf $(VENV) instance .pytest_cache
