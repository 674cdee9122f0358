"""Every dbt model, seed and snapshot as a Dagster asset, and every dbt test as an asset check.

The dbt assets are not partitioned (``orchestration.partitions`` says why): a run over a range of daily
partitions is one ``dbt build`` with the window ``window_start``/``window_end`` set to that range, lookback
included (given to dbt in its environment, not as --vars: ``orchestration.resources``), and each
materialization records the window it rebuilt. A run that names no partition (the dbt
assets materialized on their own) builds without a window: every incremental model over all of its history.
Dagster metadata (groups, owners, descriptions) comes from the dbt YAML (``config.meta.dagster``), never
from lists kept in Python.
"""

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets

from orchestration.assets.ingestion import DUCKDB_POOL
from orchestration.partitions import run_partition_window
from orchestration.progress import StepProgress
from orchestration.resources import (
    WarehouseResource,
    lookback,
    prepare_dbt_manifest_if_dev,
    retire_build_target,
    tokenbooks_dbt,
    warehouse_env_for_dbt,
)
from orchestration.windows import dbt_vars_for_window

prepare_dbt_manifest_if_dev()


@dbt_assets(
    manifest=tokenbooks_dbt.manifest_path,
    project=tokenbooks_dbt,
    name="dbt_models",
    pool=DUCKDB_POOL,
    dagster_dbt_translator=DagsterDbtTranslator(DagsterDbtTranslatorSettings(enable_asset_checks=True)),
)
def dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource):
    partition_window = run_partition_window(context.run.tags)
    dbt_vars = dbt_vars_for_window(partition_window, lookback()) if partition_window else {}
    window = dbt_vars or {"window_start": "(all history)", "window_end": "(all history)"}
    # dbt unit tests check the SQL, not the data: they run in development and CI (pytest), not on every build
    build = ["build", "--exclude-resource-type", "unit_test"]
    progress = StepProgress(
        context.log,
        "dbt build",
        {"models": len(context.selected_asset_keys), "tests": len(context.selected_asset_check_keys)},
    )
    with warehouse_env_for_dbt(warehouse.resolve(), dbt_vars):
        invocation = dbt.cli(build, context=context)
        for event in invocation.stream():
            if isinstance(event, dg.Output):
                progress.advance("models")
                yield event.with_metadata({**event.metadata, **window})
            else:
                if isinstance(event, dg.AssetCheckResult):
                    progress.advance("tests")
                yield event
    progress.finish()
    retire_build_target(invocation.target_path)
