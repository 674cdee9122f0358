"""The statements of a billing month, as the billing marts hold them."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date
from decimal import Decimal
from pathlib import Path

from warehouse import Warehouse, WarehouseSession, as_warehouse

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


def _rows(session: WarehouseSession, cls: type, table: str, billing_month: date, order_by: str) -> list[dict]:
    """The columns of ``cls`` (its fields, but lines) from a billing mart, for one month."""
    columns = [field.name for field in fields(cls) if field.name != "lines"]
    if "organization_id" not in columns:
        columns.append("organization_id")
    rows = session.fetchall(
        f"select {', '.join(columns)} from {MARTS_SCHEMA}.{table} "
        f"where billing_month = cast('{billing_month.isoformat()}' as date) order by {order_by}"
    )
    return [dict(zip(columns, row, strict=True)) for row in rows]


def read_statements(warehouse: Warehouse | Path, billing_month: date) -> list[Statement]:
    """Every statement of ``billing_month`` (its first day), by organization id, read in one short read-only
    session (DuckDB lets dbt write only when nobody else holds the file)."""
    with as_warehouse(warehouse).session(read_only=True) as session:
        headers = _rows(session, Statement, "billing_statements", billing_month, "organization_id")
        lines = _rows(session, StatementLine, "billing_statement_lines", billing_month, "organization_id, line_number")
    lines_by_org: dict[str, list[StatementLine]] = {}
    for row in lines:
        organization_id = row.pop("organization_id")
        lines_by_org.setdefault(organization_id, []).append(StatementLine(**row))
    return [Statement(**header, lines=tuple(lines_by_org.get(header["organization_id"], ()))) for header in headers]
