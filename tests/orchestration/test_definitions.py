"""The code location loads, and its asset graph is the one reviewed (snapshot) and layered raw -> staging -> marts."""

from datetime import UTC, datetime

import dagster as dg
import pytest

from ingestion.records import ENDPOINTS
from orchestration.assets.ingestion import RECONCILES_CHECK
from orchestration.partitions import daily_partitions
from orchestration.schedules import DAILY_JOB_NAME

RAW_TABLES = sorted(endpoint.table for endpoint in ENDPOINTS.values())


@pytest.fixture(scope="module")
def graph(defs):
    return defs.resolve_asset_graph()


def layer(key: dg.AssetKey) -> str:
    return key.path[0]


def upstream(graph, key: dg.AssetKey) -> set[dg.AssetKey]:
    seen: set[dg.AssetKey] = set()
    todo = [key]
    while todo:
        for parent in graph.get(todo.pop()).parent_keys:
            if parent not in seen:
                seen.add(parent)
                todo.append(parent)
    return seen


def test_definitions_load(defs):
    dg.Definitions.validate_loadable(defs)


def test_asset_graph_matches_the_reviewed_snapshot(graph, snapshot):
    nodes = {
        key.to_user_string(): {
            "group": graph.get(key).group_name,
            "materializable": graph.get(key).is_materializable,
            "partitioned": graph.get(key).partitions_def is not None,
            "deps": sorted(parent.to_user_string() for parent in graph.get(key).parent_keys),
            "checks": sorted(check.name for check in graph.get(key).check_keys),
        }
        for key in sorted(graph.get_all_asset_keys())
    }
    assert nodes == snapshot


def test_every_endpoint_has_a_partitioned_ingestion_asset_with_its_reconciliation_check(graph):
    ingestion = sorted(key.path[1] for key in graph.materializable_asset_keys if layer(key) == "raw")

    assert ingestion == RAW_TABLES
    for table in RAW_TABLES:
        node = graph.get(dg.AssetKey(["raw", table]))
        assert node.group_name == "ingestion"
        assert node.partitions_def == daily_partitions
        # reconciliation from the load itself, freshness from orchestration.checks
        assert {check.name for check in node.check_keys} == {RECONCILES_CHECK, "freshness_check"}


@pytest.fixture(scope="module")
def pipeline_assets(defs) -> list[dg.AssetsDefinition]:
    """The ingestion assets and the dbt assets: the pipeline the daily job and `tokenbooks run` execute."""
    from orchestration.assets.dbt import dbt_models
    from orchestration.assets.ingestion import ingestion_assets

    return [*ingestion_assets, dbt_models]


def test_the_daily_job_runs_every_load_on_the_daily_partitions_and_every_dbt_asset_unpartitioned(
    defs, graph, pipeline_assets
):
    from orchestration.assets.dbt import dbt_models
    from orchestration.assets.ingestion import ingestion_assets

    selected = defs.resolve_job_def(DAILY_JOB_NAME).asset_layer.selected_asset_keys

    assert {key for assets_def in pipeline_assets for key in assets_def.keys} <= selected
    assert {graph.get(asset.key).partitions_def for asset in ingestion_assets} == {daily_partitions}
    assert {graph.get(key).partitions_def for key in dbt_models.keys} == {None}


def test_lineage_runs_raw_to_staging_to_marts(graph):
    keys = graph.get_all_asset_keys()
    # every endpoint table feeds a staging model, and only staging models read raw tables
    for table in RAW_TABLES:
        children = graph.get(dg.AssetKey(["raw", table])).child_keys
        assert children and {layer(child) for child in children} <= {"raw", "staging"}, table
    # the cost mart reaches the traces through staging
    calls = dg.AssetKey(["marts", "fct_llm_calls"])
    assert {dg.AssetKey(["raw", "traces"]), dg.AssetKey(["staging", "stg_platform__llm_spans"])} <= upstream(
        graph, calls
    )
    for key in keys:
        if layer(key) in ("intermediate", "marts"):
            assert not {parent for parent in graph.get(key).parent_keys if layer(parent) == "raw"}, key


def test_dbt_tests_are_asset_checks_of_the_models(graph):
    checks = graph.get(dg.AssetKey(["marts", "fct_llm_calls"])).check_keys

    assert any(check.name.startswith("unique_") for check in checks)


def test_the_pipeline_assets_run_one_at_a_time_and_the_loads_backfill_in_one_run(pipeline_assets):
    for assets_def in pipeline_assets:
        assert assets_def.op.pool == "duckdb", assets_def.op.name
        if assets_def.partitions_def is not None:
            assert assets_def.backfill_policy == dg.BackfillPolicy.single_run(), assets_def.op.name


def test_the_schedule_runs_yesterday_at_two_utc(defs):
    schedule = defs.resolve_schedule_def(f"{DAILY_JOB_NAME}_schedule")
    context = dg.build_schedule_context(scheduled_execution_time=datetime(2026, 3, 2, 2, 0, tzinfo=UTC))

    requests = schedule.evaluate_tick(context).run_requests

    assert (schedule.cron_schedule, schedule.execution_timezone) == ("0 2 * * *", "UTC")
    assert [request.partition_key for request in requests] == ["2026-03-01"]
