"""Billing statement files, one partition per billing month (UTC).

The asset reads the billing marts (dbt) and writes ``<statements dir>/<YYYY-MM>/<organization>.{csv,html,pdf}``
(``billing.statements``); it computes no amount. With the config ``close: true`` it first closes the
month: the dbt operation ``close_billing_month`` freezes the month's statements in the billing ledger, and the
billing models are rebuilt so the marts show them closed. Closing is final: later changes to a closed month
reach the next open month's statement as adjustment lines.

The months are ``orchestration.partitions.monthly_partitions``.
"""

import json
from datetime import date

import dagster as dg
from dagster_dbt import DbtCliResource
from pydantic import Field

from billing.statements import statements_dir, write_month
from orchestration.assets.ingestion import DUCKDB_POOL
from orchestration.partitions import monthly_partitions
from orchestration.resources import WarehouseResource, warehouse_env_for_dbt

GROUP = "billing"
STATEMENT_FILES_KEY = dg.AssetKey(["billing", "statement_files"])
BILLING_MARTS = (dg.AssetKey(["marts", "billing_statements"]), dg.AssetKey(["marts", "billing_statement_lines"]))
# Every billing model, seed and test (config tags in the dbt YAML): what a closing must rebuild.
BILLING_DBT_SELECTION = "tag:billing"
CLOSE_OPERATION = "close_billing_month"


class StatementsConfig(dg.Config):
    close: bool = Field(
        default=False,
        description="Close the month(s) before writing: freeze their statements for good. Later changes to a "
        "closed month become adjustment lines on the next open month's statement.",
    )


def partition_months(window: dg.TimeWindow) -> list[date]:
    """The first day of every month in a window of monthly partitions."""
    months, month = [], window.start.date()
    while month < window.end.date():
        months.append(month)
        month = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    return months


def close_months(dbt: DbtCliResource, months: list[date]) -> None:
    """Close each month in the billing ledger (a dbt operation, idempotent), then rebuild the billing models."""
    for month in months:
        dbt.cli(["run-operation", CLOSE_OPERATION, "--args", json.dumps({"billing_month": f"{month:%Y-%m}"})]).wait()
    dbt.cli(["build", "--select", BILLING_DBT_SELECTION]).wait()


@dg.asset(
    key=STATEMENT_FILES_KEY,
    group_name=GROUP,
    partitions_def=monthly_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    pool=DUCKDB_POOL,
    deps=BILLING_MARTS,
    kinds={"python", "pdf"},
    description="Each organization's monthly billing statement as CSV line items, HTML and PDF, under "
    "`<statements dir>/<YYYY-MM>/` (TOKENBOOKS_STATEMENTS_DIR, default `statements/` beside the warehouse).",
)
def statement_files(
    context: dg.AssetExecutionContext, config: StatementsConfig, warehouse: WarehouseResource, dbt: DbtCliResource
) -> dg.MaterializeResult:
    months = partition_months(context.partition_time_window)
    resolved = warehouse.resolve()
    if config.close:
        with warehouse_env_for_dbt(resolved):
            close_months(dbt, months)
        context.log.info(f"closed {', '.join(f'{month:%Y-%m}' for month in months)}")
    root = statements_dir(resolved)
    results = [write_month(resolved, month, root) for month in months]
    for result in results:
        context.log.info(
            f"{result.billing_month:%Y-%m}: {result.statements} statement(s) in {result.directory} "
            f"({len(result.written)} file(s) written, {len(result.kept_closed)} closed kept, "
            f"{len(result.removed)} removed)"
        )
    return dg.MaterializeResult(
        metadata={
            "directory": dg.MetadataValue.path(str(root)),
            "months": ", ".join(f"{result.billing_month:%Y-%m}" for result in results),
            "statements": sum(result.statements for result in results),
            "files_written": sum(len(result.written) for result in results),
            "closed_files_kept": sum(len(result.kept_closed) for result in results),
            "closed": config.close,
            **{
                f"{extension}_bytes": sum(result.bytes_by_format.get(extension, 0) for result in results)
                for extension in ("csv", "html", "pdf")
            },
        }
    )
