"""The short report ``tokenbooks run`` prints from the warehouse after a successful run."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import duckdb
import psycopg2.errors

from ingestion.load import RAW_SCHEMA
from ingestion.records import ENDPOINTS
from warehouse import Warehouse, as_warehouse

REASON_WIDTH = 72
# What a query over a table that does not exist raises, on each warehouse.
MISSING_TABLE_ERRORS = (duckdb.CatalogException, psycopg2.errors.UndefinedTable)

SECTIONS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    (
        "Quarantined records by endpoint and reason",
        ("endpoint", "reason", "records"),
        f"select endpoint, reason, count(*) from {RAW_SCHEMA}.quarantine group by endpoint, reason "
        "order by endpoint, count(*) desc, reason",
    ),
    (
        "Cost per organization (marts.agg_org_daily)",
        ("organization_id", "cost_usd"),
        "select organization_id, round(sum(cost_usd), 6) from marts.agg_org_daily group by organization_id "
        "order by sum(cost_usd) desc nulls last, organization_id",
    ),
    (
        "Pending LLM calls (no price, no reported cost) by provider and model",
        ("provider", "model", "calls"),
        "select provider, model, count(*) from marts.fct_llm_calls where cost_status = 'pending' "
        "group by provider, model order by count(*) desc, provider, model",
    ),
    (
        "Alerts raised (marts.alerts; the alert sensors deliver them to the webhooks configured)",
        ("severity", "alert_rule", "subject", "window_start", "observed", "threshold", "unit"),
        "select severity, alert_rule, subject, cast(window_start as varchar), round(observed_value, 4), "
        "round(threshold_value, 4), unit from marts.alerts "
        "order by case severity when 'critical' then 0 when 'warning' then 1 else 2 end, alert_rule, alert_key",
    ),
)


def format_table(title: str, header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain, aligned text table under a title ("(none)" when there are no rows)."""
    cells = [[_cell(value) for value in row] for row in rows]
    widths = [max(len(h), *(len(row[i]) for row in cells)) if cells else len(h) for i, h in enumerate(header)]
    lines = [title, "  " + "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip()]
    lines += ["  " + "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells]
    if not cells:
        lines.append("  (none)")
    return "\n".join(lines)


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= REASON_WIDTH else text[: REASON_WIDTH - 1] + "…"


def warehouse_summary(warehouse: Warehouse | Path) -> str:
    """Rows per raw table, quarantine reasons, cost per organization and pending calls, as text."""
    with as_warehouse(warehouse).session(read_only=True) as session:
        raw_rows = [
            (
                f"{RAW_SCHEMA}.{endpoint.table}",
                session.fetchone(f"select count(*) from {RAW_SCHEMA}.{endpoint.table}")[0],
            )
            for endpoint in ENDPOINTS.values()
        ]
        tables = [format_table("Rows per raw table", ("table", "rows"), raw_rows)]
        for title, header, query in SECTIONS:
            try:
                tables.append(format_table(title, header, session.fetchall(query)))
            except MISSING_TABLE_ERRORS:  # a mart this dbt project does not build (yet)
                tables.append(f"{title}\n  (not built)")
    return "\n\n".join(tables)
