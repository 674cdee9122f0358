"""The statements of a billing month, as the billing marts hold them."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb

MARTS_SCHEMA = "marts"


@dataclass(frozen=True)
class StatementLine:
    """One row of ``marts.billing_statement_lines``."""

    line_number: int
    line_id: str
    line_type: str
    description: str
    quantity: Decimal
    unit: str
    unit_price_usd: Decimal | None
    amount_usd: Decimal
    reference_month: date | None
    provider: str | None
    model: str | None
    requests: int | None
    calls: int | None
    tokens: int | None


@dataclass(frozen=True)
class Statement:
    """One row of ``marts.billing_statements`` with its lines, in line order."""

    billing_month: date
    organization_id: str
    organization_name: str | None
    plan: str | None
    status: str
    platform_fee_usd: Decimal
    request_overage_usd: Decimal
    ai_usage_usd: Decimal
    adjustments_usd: Decimal
    total_usd: Decimal
    requests: int
    pending_calls: int
    pending_tokens: int
    statement_hash: str
    lines: tuple[StatementLine, ...]

    @property
    def is_closed(self) -> bool:
        return self.status == "closed"


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list) -> list[dict]:
    cursor = con.execute(sql, params)
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _pick(cls: type, row: dict) -> dict:
    return {field.name: row[field.name] for field in fields(cls) if field.name in row}


def read_statements(warehouse: Path, billing_month: date) -> list[Statement]:
    """Every statement of ``billing_month`` (its first day), by organization id, read in one short read-only
    connection (DuckDB lets dbt write only when nobody else holds the file)."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        headers = _rows(
            con,
            f"select * from {MARTS_SCHEMA}.billing_statements where billing_month = ? order by organization_id",
            [billing_month],
        )
        lines = _rows(
            con,
            f"select * from {MARTS_SCHEMA}.billing_statement_lines where billing_month = ? "
            "order by organization_id, line_number",
            [billing_month],
        )
    lines_by_org: dict[str, list[StatementLine]] = {}
    for row in lines:
        lines_by_org.setdefault(row["organization_id"], []).append(StatementLine(**_pick(StatementLine, row)))
    return [
        Statement(**_pick(Statement, header), lines=tuple(lines_by_org.get(header["organization_id"], ())))
        for header in headers
    ]
