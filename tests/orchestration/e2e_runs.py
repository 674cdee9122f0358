"""Running ``tokenbooks`` in this process, and reading what a run left in its DuckDB warehouse."""

import contextlib
import io
from pathlib import Path

import duckdb

from cli import main

# Columns saying which load brought a row, when and from where: they differ between two sources by design.
LOAD_METADATA = ("_batch_id", "_loaded_at", "_source", "_delivery_seq", "loaded_at", "batch_id")


def measured_at_build(column: str) -> bool:
    """Columns a mart measures at its build (dbt's run start, e.g. how long calls have been pending)."""
    return column == "built_at" or "_age_" in column


def run_cli(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


def query(warehouse: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


def scalar(warehouse: Path, sql: str):
    return query(warehouse, sql)[0][0]


def tables(warehouse: Path) -> dict[str, list[tuple]]:
    """Every raw and mart table's rows (sorted), without the load bookkeeping (batches, files, columns)."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        names = con.execute(
            "select table_schema || '.' || table_name from information_schema.tables "
            "where table_schema in ('raw', 'marts') and table_name not in ('load_batches', 'landing_files') order by 1"
        ).fetchall()
        found = {}
        for (name,) in names:
            schema, table = name.split(".")
            columns = [
                column
                for (column,) in con.execute(
                    "select column_name from information_schema.columns where table_schema = ? and table_name = ? "
                    "order by ordinal_position",
                    [schema, table],
                ).fetchall()
                if column not in LOAD_METADATA and not measured_at_build(column)
            ]
            select = ", ".join(f'"{column}"' for column in columns)
            found[name] = con.execute(f"select {select} from {name} order by all").fetchall()
    return found
