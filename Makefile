# Quick start: `make run` (build and publish the sample), `make test` (the fast test tier).
# Only Python 3.11+ is needed: uv is bootstrapped into .tools/ and installs the locked stack.
PYTHON ?= python3
UV_VERSION := 0.13.9
UV := .tools/bin/uv
VENV := .venv
PY := $(VENV)/bin/python

export DAGSTER_HOME ?= $(CURDIR)/.dagster_home
export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export DO_NOT_TRACK := 1
export GX_ANALYTICS_ENABLED := false
export UV_PYTHON_DOWNLOADS := never

.PHONY: setup prepare generate run update-sources test test-all lint format dev bench bench-scale sample clean

setup: $(VENV)/.installed

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

$(VENV)/.installed: pyproject.toml uv.lock | $(UV)
	$(UV) sync --locked --compile-bytecode --python $(PYTHON)
	@touch $@

prepare: setup
	$(PY) -m orchestration.cli prepare

generate: setup  ## write the dbt sources, stg_ees models and raw gate suites from vars.ees_datasets
	$(PY) -m orchestration.lib.rules.registry

run: setup  ## land sources.yml's files, build, gate and publish warehouse/education.duckdb
	@# (the CLI parses the dbt project itself before loading the definitions: no `make prepare` here)
	@# A registry entry edited without `make generate` would build from stale models and suites.
	$(PY) -m orchestration.lib.rules.registry --check
	$(PY) -m orchestration.cli run

update-sources: setup  ## resolve sources.yml's ees_api:/url: sources again and rewrite sources.lock
	$(PY) -m orchestration.cli update-sources

test: prepare  ## fast tier (offline, a few minutes): unit, dbt and one end-to-end run on the sample
	$(PY) -m pytest -m "not slow"

# DuckDB 1.1 in its own environment: the oldest DuckDB inside BI drivers; a test opens the
# published file with it (the publication's storage-format promise, README).
COMPAT_DUCKDB := .tools/duckdb-1.1/bin/python
$(COMPAT_DUCKDB): | $(UV)
	$(UV) venv --quiet --python $(PYTHON) .tools/duckdb-1.1
	VIRTUAL_ENV=.tools/duckdb-1.1 $(UV) pip install --quiet "duckdb==1.1.3"

test-all: prepare $(COMPAT_DUCKDB)  ## every test (offline): adds crash safety, the Dagster UI in Chromium, backtests, concurrent readers
	$(PY) -m pytest

lint: setup  ## ruff (Python) and sqlfluff (dbt models and tests); CI runs it
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	cd dbt_project && ../$(VENV)/bin/sqlfluff lint models tests --processes 2

format: setup  ## apply ruff's and sqlfluff's fixes
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .
	cd dbt_project && ../$(VENV)/bin/sqlfluff fix models tests --processes 2

dev: prepare  ## the Dagster UI on http://127.0.0.1:3000
	$(VENV)/bin/dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000

bench: prepare  ## wall time and peak memory of a full build on the sample
	$(PY) scripts/bench.py

bench-scale: prepare  ## extra time and memory of KS2/KS4 grown to BENCH_SCALE_ROWS rows, against DuckDB alone
	$(PY) scripts/bench.py --scale

sample: setup  ## regenerate raw/sample/ (deterministic; the committed copy must not change)
	$(PY) -m tools.sample_data.generator

clean:  ## remove build artefacts (never the published warehouse or the landing zone)
	rm -rf dbt_project/target dbt_project/logs warehouse/build
