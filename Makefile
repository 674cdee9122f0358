# tokenbooks: the commands of the README and docs/. Every target creates the virtual environment when it is missing.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export DAGSTER_HOME ?= $(CURDIR)/data/dagster_home
export TOKENBOOKS_WAREHOUSE ?= $(CURDIR)/data/warehouse.duckdb
DEMO_DATA ?= data/sample
DEMO_ARGS ?= --orgs 6 --days 30 --spans-per-day 400

.PHONY: install demo test lint dev docs bench lock clean
# make bench: the quick look; the full run is `make bench SIZES=1000000,10000000 DAILY_CALLS=3000`
SIZES ?= 20000,100000
HISTORY_DAYS ?= 30,365
DAILY_CALLS ?= 300
# Test processes: two share the modules out (a module stays on one worker, so its fixtures are built once).
TEST_WORKERS ?= 2
# A folder to keep the generated datasets in and reuse them from (24 GB at 10M calls); empty = regenerate.
DATASETS ?=

# make docs: dbt's docs site, built in a target folder of its own (the manifest Dagster reads stays as it is), with
# column types read from the demo warehouse once `make demo` has built it, else from an empty DuckDB file.
DOCS_PORT ?= 8080
DOCS_TARGET := $(CURDIR)/dbt_project/target/docs
DOCS_WAREHOUSE = $(if $(wildcard $(TOKENBOOKS_WAREHOUSE)),$(abspath $(TOKENBOOKS_WAREHOUSE)),$(DOCS_TARGET)/empty.duckdb)
DBT_FOR_DOCS = TOKENBOOKS_DBT_TARGET=duckdb TOKENBOOKS_WAREHOUSE=$(DOCS_WAREHOUSE) $(abspath $(BIN))/dbt
DBT_DOCS_ARGS = --project-dir dbt_project --profiles-dir dbt_project --target-path $(DOCS_TARGET)

$(BIN)/activate: pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==0.13.8
	$(BIN)/uv pip install --python $(BIN)/python --compile-bytecode --quiet -r requirements.lock
	$(BIN)/uv pip install --python $(BIN)/python --compile-bytecode --quiet --no-deps -e .
	@touch $(BIN)/activate

install: $(BIN)/activate

## Regenerate the pinned lock file after changing pyproject.toml dependencies.
lock:
	uv pip compile pyproject.toml --extra dev -o requirements.lock --python-version 3.11

## Sample platform data -> DuckDB -> marts, end to end through Dagster, with a summary.
demo: install
	@mkdir -p $(DAGSTER_HOME)
	$(BIN)/tokenbooks sample generate --out $(DEMO_DATA) $(DEMO_ARGS)
	$(BIN)/tokenbooks run --landing $(DEMO_DATA) --warehouse $(TOKENBOOKS_WAREHOUSE)

## Every test (pytest drives dbt and Dagster) on TEST_WORKERS processes, then ruff and sqlfluff.
test: install
	@# the dbt manifest the Definitions read, parsed once here rather than by every worker at the same moment
	$(BIN)/python -c "from orchestration.resources import prepare_dbt_manifest; prepare_dbt_manifest()"
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadscope --durations=15
	$(MAKE) --no-print-directory lint

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	cd dbt_project && ../$(BIN)/sqlfluff lint --processes 2 models macros tests

## The Dagster UI with the whole asset graph on http://127.0.0.1:3000
dev: install
	@# the local instance config (the duckdb pool's one slot, run monitoring, the pooled SQLite storage), as
	@# `tokenbooks run` puts it in a DAGSTER_HOME that has none yet
	@$(BIN)/python -c "from cli.dagster_runs import prepare_dagster_home; prepare_dagster_home()"
	DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS=$${DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS:-true} \
	$(BIN)/dagster dev -m orchestration.definitions -h 127.0.0.1 -p 3000

## The dbt docs site (every model's columns, tests, lineage) on http://127.0.0.1:8080; types from the demo warehouse.
docs: install
	@mkdir -p $(DOCS_TARGET)
	$(DBT_FOR_DOCS) docs generate $(DBT_DOCS_ARGS)
	$(DBT_FOR_DOCS) docs serve $(DBT_DOCS_ARGS) --host 127.0.0.1 --port $(DOCS_PORT) --no-browser

## Growth of cost with data, against the DuckDB floor and pandas, measured in one run (docs/benchmarks.md).
bench: install
	$(BIN)/python -m benchmarks.harness --sizes $(SIZES) --history-days $(HISTORY_DAYS) --daily-calls $(DAILY_CALLS) \
		$(if $(DATASETS),--datasets $(DATASETS))

clean:
	rm -rf data/warehouse.duckdb data/dagster_home dbt_project/target dbt_project/logs
