"""CSV export of one organization's rows of a mart, optionally for a range of days: for finance, and for
customers who ask for their data (``tokenbooks export``).

Nothing here lists marts by hand. The warehouse's own catalog (``information_schema``) says what can be
exported: every table or view in schema ``marts`` with an ``organization_id`` column. The range applies to
the mart's first ``DATE`` column (the day a row counts on: ``activity_date``, ``call_date``,
``billing_month``, ``as_of_date`` of a snapshot mart...), else to its first ``*_at`` timestamp; a mart with
neither exports whole. The mart name is matched against that catalog and quoted from it, and the
organization and days are bound as parameters, so no input reaches the SQL text. The warehouse is the
configured one (a DuckDB file, or PostgreSQL), read in a read-only session.

Rows come out in a deterministic order (every column, left to right), as CSV with a header: NULL as an
empty field, money as exact decimals, booleans as ``true``/``false``, timestamps as ISO 8601 (UTC).
"""

from __future__ import annotations

import csv
import os
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

from warehouse import DuckDBWarehouse, Warehouse, as_warehouse

MARTS_SCHEMA = "marts"
ORGANIZATION_COLUMN = "organization_id"
FETCH_ROWS = 10_000


class ExportError(Exception):
    """The export cannot be made as asked (unknown mart, bad range, no warehouse); the message says why."""


@dataclass(frozen=True)
class ExportableMart:
    name: str
    columns: tuple[str, ...]
    # Where a date range applies, and whether it is a DATE (else a TIMESTAMP) column; None: no range.
    range_column: str | None
    range_column_is_date: bool

    def describe(self) -> str:
        return f"{self.name} (range on {self.range_column})" if self.range_column else f"{self.name} (no range)"


def exportable_marts(con: Any, placeholder: str = "?") -> dict[str, ExportableMart]:
    """Every relation of schema ``marts`` with an organization_id column, from the warehouse's catalog.

    ``con`` is a DB-API connection (DuckDB or psycopg2) and ``placeholder`` its parameter marker.
    """
    cursor = con.cursor()
    cursor.execute(
        "select table_name, column_name, data_type from information_schema.columns "
        f"where table_schema = {placeholder} order by table_name, ordinal_position",
        [MARTS_SCHEMA],
    )
    catalog = cursor.fetchall()
    columns_by_mart: dict[str, list[tuple[str, str]]] = {}
    for table, column, data_type in catalog:
        columns_by_mart.setdefault(table, []).append((column, data_type.upper()))
    return {
        name: _exportable(name, columns)
        for name, columns in columns_by_mart.items()
        if ORGANIZATION_COLUMN in (column for column, _ in columns)
    }


def _exportable(name: str, columns: Sequence[tuple[str, str]]) -> ExportableMart:
    dates = [column for column, data_type in columns if data_type == "DATE"]
    timestamps = [
        column for column, data_type in columns if data_type.startswith("TIMESTAMP") and column.endswith("_at")
    ]
    return ExportableMart(
        name=name,
        columns=tuple(column for column, _ in columns),
        range_column=(dates or timestamps or [None])[0],
        range_column_is_date=bool(dates),
    )


def _quoted(identifier: str, placeholder: str) -> str:
    quoted = '"' + identifier.replace('"', '""') + '"'
    # psycopg2 (placeholder %s) reads any lone % of a statement with parameters as a marker
    return quoted.replace("%", "%%") if placeholder == "%s" else quoted


def export_query(
    mart: ExportableMart, organization_id: str, start: date | None, end: date | None, placeholder: str = "?"
) -> tuple[str, list[object]]:
    """The parameterized SELECT of one organization's rows in ``[start, end)`` (either end may be open)."""
    conditions, params = [f"{_quoted(ORGANIZATION_COLUMN, placeholder)} = {placeholder}"], [organization_id]
    if start is not None or end is not None:
        if mart.range_column is None:
            raise ExportError(f"{mart.name} has no date or *_at column to filter by: export it without --start/--end")
        if start is not None and end is not None and start >= end:
            raise ExportError(f"--start ({start}) must be before --end ({end}): the range is [start, end)")
        column = _quoted(mart.range_column, placeholder)
        for bound, operator in ((start, ">="), (end, "<")):
            if bound is not None:
                conditions.append(f"{column} {operator} {placeholder}")
                params.append(bound if mart.range_column_is_date else datetime.combine(bound, time.min))
    order = ", ".join(str(position) for position in range(1, len(mart.columns) + 1))
    relation = f"{_quoted(MARTS_SCHEMA, placeholder)}.{_quoted(mart.name, placeholder)}"
    return f"select * from {relation} where {' and '.join(conditions)} order by {order}", params


def csv_field(value: object) -> object:
    """How a warehouse value reads in the CSV: exact and unambiguous, independent of the locale."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")  # never 1E-18
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return value


def write_csv(out: TextIO, header: Sequence[str], batches: Iterable[Sequence[Sequence[object]]]) -> int:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    written = 0
    for rows in batches:
        writer.writerows([csv_field(value) for value in row] for row in rows)
        written += len(rows)
    return written


def export_to(
    con: Any,
    mart_name: str,
    organization_id: str,
    out: TextIO,
    start: date | None = None,
    end: date | None = None,
    placeholder: str = "?",
) -> int:
    """Write one organization's rows of ``mart_name`` as CSV to ``out``; returns the number of rows.

    ``con`` is a DB-API connection (DuckDB or psycopg2) and ``placeholder`` its parameter marker.
    """
    if not organization_id:
        raise ExportError("--org: expected an organization id")
    marts = exportable_marts(con, placeholder)
    mart = marts.get(mart_name)
    if mart is None:
        available = "; ".join(marts[name].describe() for name in sorted(marts)) or "none (is the warehouse built?)"
        raise ExportError(
            f"{mart_name!r} is not an exportable mart (schema {MARTS_SCHEMA}, with {ORGANIZATION_COLUMN}). "
            f"Exportable: {available}"
        )
    sql, params = export_query(mart, organization_id, start, end, placeholder)
    cursor = con.cursor()
    cursor.execute(sql, params)
    header = [column[0] for column in cursor.description]
    return write_csv(out, header, iter(lambda: cursor.fetchmany(FETCH_ROWS), []))


def export_mart(
    warehouse: Warehouse | Path,
    mart_name: str,
    organization_id: str,
    out_path: Path | None = None,
    out: TextIO | None = None,
    start: date | None = None,
    end: date | None = None,
) -> int:
    """Export from the warehouse (a DuckDB file path or a configured warehouse, read-only) to ``out_path``,
    else to ``out``.

    A file is written beside its destination and renamed into place once complete, so a failed export never
    leaves half a file where a finished one is expected.
    """
    warehouse = as_warehouse(warehouse)
    if isinstance(warehouse, DuckDBWarehouse) and not warehouse.path.is_file():
        raise ExportError(f"no warehouse at {warehouse.path}: run `tokenbooks run` first, or pass --warehouse")
    placeholder = "?" if isinstance(warehouse, DuckDBWarehouse) else "%s"
    with warehouse.session(read_only=True) as session:
        if out_path is None:
            return export_to(session.connection, mart_name, organization_id, out, start, end, placeholder)
        out_path.parent.mkdir(parents=True, exist_ok=True)
        handle, partial = tempfile.mkstemp(prefix=f".{out_path.name}.", suffix=".partial", dir=out_path.parent)
        try:
            with os.fdopen(handle, "w", encoding="utf-8", newline="") as partial_file:
                rows = export_to(session.connection, mart_name, organization_id, partial_file, start, end, placeholder)
            os.replace(partial, out_path)
        except BaseException:
            Path(partial).unlink(missing_ok=True)
            raise
        return rows
