"""Every dbt model, seed and snapshot as a Dagster asset, and every dbt test as an asset check.

The dbt assets share the ingestion partitions: a run over a range of days is one ``dbt build`` with the vars
``window_start``/``window_end`` set to that range, lookback included (``BackfillPolicy.single_run``).
Dagster metadata (groups, owners, descriptions) comes from the dbt YAML (``config.meta.dagster``), never
from lists kept in Python.
"""

import json

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets

from orchestration.assets.ingestion import DUCKDB_POOL
from orchestration.partitions import daily_partitions
from orchestration.resources import (
    WarehouseResource,
    lookback,
    prepare_dbt_manifest_if_dev,
    tokenbooks_dbt,
    warehouse_env_for_dbt,
)
from orchestration.windows import dbt_vars_for_window

prepare_dbt_manifest_if_dev()


@dbt_assets(
    manifest=tokenbooks_dbt.manifest_path,
    project=tokenbooks_dbt,
    name="dbt_models",
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    pool=DUCKDB_POOL,
    dagster_dbt_translator=DagsterDbtTranslator(DagsterDbtTranslatorSettings(enable_asset_checks=True)),
)
def dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource):
    dbt_vars = dbt_vars_for_window(context.partition_time_window, lookback())
    # dbt unit tests check the SQL, not the data: they run in development and CI (pytest), not on every build
    build = ["build", "--exclude-resource-type", "unit_test", "--vars", json.dumps(dbt_vars)]
    with warehouse_env_for_dbt(warehouse.resolve()):
        yield from dbt.cli(build, context=context).stream()
