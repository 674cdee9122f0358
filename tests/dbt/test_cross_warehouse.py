"""DuckDB and PostgreSQL give the same marts from the same landing data.

The tiny hand-checked data and a small generated sample are loaded by the real loader into a DuckDB file (then
``dbt build``) and, through the Dagster job, into PostgreSQL (``postgres_pipeline``); every dbt test passes on
both. Then every table of schema ``marts`` (found in the catalog, so marts added later are compared too) must
hold the same rows: exact for text, integers, decimals and times, to 1e-9 for floating-point numbers.
"""

from __future__ import annotations

import json
import math
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from warehouse import DuckDBWarehouse, Warehouse

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

FLOAT_TOLERANCE = 1e-9
# Measured from dbt's run start (pending_llm_calls), so two builds minutes apart differ by design.
BUILD_TIME_COLUMNS = ("built_at", "oldest_pending_age_hours", "newest_pending_age_hours")


@pytest.fixture(scope="module")
def duckdb_marts(new_workspace, mixed_landing: Path, mixed_landing_window) -> DuckDBWarehouse:
    """The same data built on DuckDB with the window the Dagster run gave dbt (marts like alerts evaluate at
    its end)."""
    workspace = new_workspace()
    workspace.load(mixed_landing)
    workspace.dbt("build", window=mixed_landing_window)
    return DuckDBWarehouse(workspace.warehouse)


def canonical(value: Any, is_json: bool) -> Any:
    """A value as compared: JSON parsed (DuckDB returns its text, PostgreSQL the parsed value), and JSON
    objects or arrays rendered as text too (jsonb renders keys in its own order, spaced; DuckDB keeps the
    delivered order, compact: the same document)."""
    if isinstance(value, str) and (is_json or value[:1] in ("{", "[")):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def marts(warehouse: Warehouse) -> dict[str, tuple[list[str], list[tuple]]]:
    """Every table of schema marts: its column names and its rows, in a stable order."""
    # read-write: dbt ran in this process and still holds the DuckDB file open that way
    with warehouse.session() as session:
        found = {}
        for (table,) in session.fetchall(
            "select table_name from information_schema.tables where table_schema = 'marts' order by table_name"
        ):
            typed = session.fetchall(
                "select column_name, data_type from information_schema.columns "
                f"where table_schema = 'marts' and table_name = '{table}' order by ordinal_position"
            )
            typed = [(name, data_type) for name, data_type in typed if name not in BUILD_TIME_COLUMNS]
            names = [name for name, _ in typed]
            is_json = [data_type.lower() in ("json", "jsonb") for _, data_type in typed]
            select = ", ".join(f'"{name}"' for name in names)
            rows = [
                tuple(canonical(v, j) for v, j in zip(row, is_json, strict=True))
                for row in session.fetchall(f"select {select} from marts.{table}")
            ]
            found[table] = (names, sorted(rows, key=sort_key))
    return found


def sort_key(row: tuple) -> tuple:
    """Orders rows alike on both warehouses: NULLs last, floats rounded well above their tolerance."""

    def part(value: Any) -> tuple:
        if value is None:
            return (1, "")
        if isinstance(value, float | Decimal | int) and not isinstance(value, bool):
            return (0, round(float(value), 6))
        if isinstance(value, dict | list):
            return (0, json.dumps(value, sort_keys=True))
        return (0, value)

    return tuple(part(value) for value in row)


def same_value(on_duckdb: Any, on_postgres: Any) -> bool:
    if isinstance(on_duckdb, float) or isinstance(on_postgres, float):
        if on_duckdb is None or on_postgres is None:
            return on_duckdb is on_postgres
        return math.isclose(on_duckdb, on_postgres, rel_tol=FLOAT_TOLERANCE, abs_tol=FLOAT_TOLERANCE)
    return on_duckdb == on_postgres  # Decimal == Decimal (or int) is exact


def differences(table: str, on_duckdb: tuple[list[str], list[tuple]], on_postgres: tuple[list[str], list[tuple]]):
    (columns, duck_rows), (pg_columns, pg_rows) = on_duckdb, on_postgres
    if columns != pg_columns:
        return [f"{table}: columns differ: duckdb {columns}, postgres {pg_columns}"]
    if len(duck_rows) != len(pg_rows):
        return [f"{table}: {len(duck_rows)} rows on duckdb, {len(pg_rows)} on postgres"]
    found = []
    for duck_row, pg_row in zip(duck_rows, pg_rows, strict=True):
        for column, a, b in zip(columns, duck_row, pg_row, strict=True):
            if not same_value(a, b):
                found.append(f"{table}.{column}: duckdb {a!r} != postgres {b!r} (duckdb row {duck_row})")
                break
        if len(found) >= 3:
            break
    return found


def test_every_mart_is_the_same_on_duckdb_and_postgres(duckdb_marts, postgres_pipeline):
    on_duckdb, on_postgres = marts(duckdb_marts), marts(postgres_pipeline.warehouse())

    assert sorted(on_postgres) == sorted(on_duckdb)
    assert all(on_duckdb[mart][1] for mart in ("fct_llm_calls", "fct_traces", "fct_requests", "agg_org_daily"))
    problems = [problem for table in on_duckdb for problem in differences(table, on_duckdb[table], on_postgres[table])]
    assert not problems, "\n".join(problems)


def test_the_comparison_tells_numbers_apart_beyond_the_tolerance():
    assert same_value(0.1 + 0.2, 0.3)
    assert not same_value(1.0, 1.0 + 1e-6)
    assert same_value(Decimal("0.014550000000000000"), Decimal("0.01455"))
    assert not same_value(Decimal("0.014550000000000001"), Decimal("0.01455"))
    assert not same_value(None, 0.0)
    rows = (["n"], [(Decimal("1.5"),)])
    assert differences("t", rows, (["n"], [(Decimal("1.5000001"),)])) == [
        "t.n: duckdb Decimal('1.5') != postgres Decimal('1.5000001') (duckdb row (Decimal('1.5'),))"
    ]
