"""One thin asset per source endpoint: fetch or read its records for the partition window and load them.

Fetching, validation, quarantine and idempotent writes all live in ``ingestion``; an asset only decides the
window and reports the load's counts. Asset keys are ``raw/<table>``, the same keys dagster-dbt gives the dbt
source ``raw.<table>``, so the dbt models hang below the loads in one graph.
"""

import dagster as dg

from ingestion.load import RAW_SCHEMA, ingest_endpoint
from ingestion.records import ENDPOINTS, Endpoint
from orchestration.partitions import daily_partitions
from orchestration.progress import StepProgress
from orchestration.resources import PlatformSourceResource, WarehouseResource, lookback
from orchestration.windows import load_window

GROUP = "ingestion"
DUCKDB_POOL = "duckdb"
RECONCILES_CHECK = "fetched_equals_loaded_duplicates_quarantined"
# Tables every load writes besides its own raw table; shown so dbt models reading them have a lineage.
SHARED_LOAD_TABLES = {
    "quarantine": "Invalid records of every endpoint, with the reasons, once per distinct bad line.",
    "load_batches": "One row per committed load chunk: window, source and counts (fetched = loaded + "
    "duplicates + quarantined).",
}


def raw_asset_key(table: str) -> dg.AssetKey:
    return dg.AssetKey([RAW_SCHEMA, table])


def build_ingestion_asset(endpoint: Endpoint) -> dg.AssetsDefinition:
    key = raw_asset_key(endpoint.table)
    window_note = "the full list at every run" if endpoint.snapshot else "records of the partition window"

    @dg.asset(
        key=key,
        group_name=GROUP,
        partitions_def=daily_partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        pool=DUCKDB_POOL,
        kinds={"python", "duckdb"},
        description=f"`{endpoint.path}` loaded into `{RAW_SCHEMA}.{endpoint.table}` ({window_note}).",
        check_specs=[
            dg.AssetCheckSpec(
                RECONCILES_CHECK,
                asset=key,
                description="Every fetched record is loaded, a duplicate or quarantined.",
            )
        ],
    )
    def _load(context: dg.AssetExecutionContext, warehouse: WarehouseResource, platform: PlatformSourceResource):
        window = None if endpoint.snapshot else load_window(context.partition_time_window, lookback())
        progress = StepProgress(context.log, f"load {endpoint.name}", {}, measure="bytes")
        result = ingest_endpoint(warehouse.resolve(), platform.open(), endpoint.name, window, progress.update)
        progress.finish()
        counts = {
            "fetched": result.fetched,
            "loaded": result.loaded,
            "duplicates": result.duplicates,
            "quarantined": result.quarantined,
            "outside_window": result.outside_window,
        }
        yield dg.MaterializeResult(metadata={**counts, "corrections": result.corrections, "batch_id": result.batch_id})
        yield dg.AssetCheckResult(
            check_name=RECONCILES_CHECK,
            passed=result.fetched == result.loaded + result.duplicates + result.quarantined,
            metadata=counts,
        )

    return _load


ingestion_assets = [build_ingestion_asset(endpoint) for endpoint in ENDPOINTS.values()]

shared_load_tables = [
    dg.AssetSpec(
        raw_asset_key(table),
        deps=[asset.key for asset in ingestion_assets],
        group_name=GROUP,
        kinds={"duckdb"},
        description=description,
    )
    for table, description in SHARED_LOAD_TABLES.items()
]
