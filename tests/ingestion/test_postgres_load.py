"""The loader on PostgreSQL: the same raw tables as on DuckDB, with the same guarantees.

Validation runs in DuckDB either way; these tests check the PostgreSQL writes: rows, types, delivery order,
idempotence, quarantine, reconciliation and concurrent loads, against a real server (kill-and-resume runs on both
warehouses in test_load.py).
"""

from __future__ import annotations

import json
import threading
from datetime import date, datetime
from pathlib import Path

import pytest

from ingestion.load import load_landing
from sample_platform.generator import generate
from settings import ConfigError
from warehouse import DuckDBWarehouse, LoadError, PostgresWarehouse, Warehouse, configured_warehouse

# Columns that say when and in which batch a row was written: they differ between two loads by design.
WRITE_METADATA = ("_batch_id", "_loaded_at", "batch_id", "started_at", "finished_at")
ORDER = {"quarantine": "endpoint, _line_hash", "load_batches": "endpoint, chunk", "landing_files": "endpoint, path"}
SPAN = {
    "trace_id": "trc_1",
    "organization_id": "org_a",
    "kind": "llm",
    "status": "ok",
    "duration_ms": 900,
    "llm": {"provider": "openai", "model": "gpt-4o-mini-2024-07-18", "usage": {"input_tokens": 100}},
}


def span(span_id: str, started_at: str, **extra) -> str:
    return json.dumps({"span_id": span_id, "started_at": started_at, **SPAN, **extra})


def write_landing(root: Path, endpoint: str, files: dict[str, list[str]]) -> Path:
    for name, lines in files.items():
        path = root / endpoint / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return root


def raw_tables(warehouse: Warehouse) -> dict[str, list[tuple]]:
    """Every raw table's rows in a stable order, without write metadata; JSON parsed (jsonb comes back parsed)."""
    with warehouse.session(read_only=True) as session:
        columns: dict[str, list[tuple[str, str]]] = {}
        for table, column, data_type in session.fetchall(
            "select table_name, column_name, data_type from information_schema.columns "
            "where table_schema = 'raw' order by table_name, ordinal_position"
        ):
            if column not in WRITE_METADATA:
                columns.setdefault(table, []).append((column, data_type.lower()))
        found = {}
        for table, typed in columns.items():
            select = ", ".join(f'"{name}"' for name, _ in typed)
            rows = session.fetchall(f"select {select} from raw.{table} order by {ORDER.get(table, '_delivery_seq')}")
            is_json = [data_type == "json" for _, data_type in typed]
            found[table] = [
                tuple(json.loads(v) if parse and v is not None else v for v, parse in zip(row, is_json, strict=True))
                for row in rows
            ]
    return found


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sample")
    generate(out, orgs=3, days=3, start=date(2026, 3, 1), seed=5, spans_per_day=150, dirt_rate=0.05)
    return out


@pytest.fixture(scope="module")
def sample_on_both(sample, postgres_server, tmp_path_factory) -> tuple[Warehouse, Warehouse]:
    duck = DuckDBWarehouse(tmp_path_factory.mktemp("duckdb") / "warehouse.duckdb")
    postgres = postgres_server.new_database().warehouse()
    for warehouse in (duck, postgres):
        load_landing(warehouse, sample)
    return duck, postgres


def test_postgres_raw_tables_equal_duckdb_row_for_row(sample_on_both):
    duck, postgres = sample_on_both
    on_duckdb, on_postgres = raw_tables(duck), raw_tables(postgres)
    assert sorted(on_postgres) == sorted(on_duckdb)
    assert all(on_duckdb[table] for table in on_duckdb)  # dirt included: quarantine, corrections, duplicates
    for table in on_duckdb:
        assert on_postgres[table] == on_duckdb[table], table


def test_postgres_raw_columns_use_postgres_types(sample_on_both):
    _, postgres = sample_on_both
    with postgres.session(read_only=True) as session:
        types = dict(
            session.fetchall(
                "select column_name, data_type from information_schema.columns "
                "where table_schema = 'raw' and table_name = 'traces'"
            )
        )
    assert (types["payload"], types["_record"], types["started_at"], types["duration_ms"], types["span_id"]) == (
        "jsonb",
        "jsonb",
        "timestamp without time zone",
        "bigint",
        "text",
    )


def test_reloading_into_postgres_changes_nothing(sample, sample_on_both):
    _, postgres = sample_on_both
    before = raw_tables(postgres)
    again = load_landing(postgres, sample)
    assert sum(r.loaded for r in again) == 0
    assert all(r.duplicates + r.quarantined == r.fetched for r in again)
    after = raw_tables(postgres)
    assert after.pop("load_batches")[len(before["load_batches"]) :]  # only new batch rows
    before.pop("load_batches")
    assert after == before


def test_counts_versions_quarantine_and_nul_characters(tmp_path, postgres_database):
    landing = write_landing(
        tmp_path,
        "traces",
        {
            "1.jsonl": [
                span("s1", "2026-11-20T10:00:00Z", attributes={"note": "nul \u0000 here", "path": "C:\\u0000"}),
                span("s2", "2026-11-20T11:00:00Z", name="a\u0000b"),
                "",
                span("s3", "2026-11-20T12:00:00Z", duration_ms="1420ms"),
                span("s1", "2026-11-20T10:00:00Z", attributes={"note": "nul \u0000 here", "path": "C:\\u0000"}),
            ],
            "2.jsonl": [
                span("s2", "2026-11-20T11:00:00Z", status="error"),
                span("s4", "2026-11-21T00:00:00Z"),
                span("s3", "2026-11-20T12:00:00Z", duration_ms="1420ms"),
            ],
        },
    )
    warehouse = postgres_database.warehouse()
    window = (datetime.fromisoformat("2026-11-20T00:00:00+00:00"), datetime.fromisoformat("2026-11-21T00:00:00Z"))
    (result,) = load_landing(warehouse, landing, endpoints=["traces"], window=window)
    assert (result.fetched, result.loaded, result.duplicates, result.quarantined) == (6, 3, 1, 2)
    assert (result.corrections, result.outside_window) == (1, 1)

    assert postgres_database.rows(
        "select span_id, status, name, attributes, _delivery_seq from raw.traces order by _delivery_seq"
    ) == [
        ("s1", "ok", None, {"note": "nul \ufffd here", "path": "C:\\u0000"}, 1),
        ("s2", "ok", "a\ufffdb", None, 2),
        ("s2", "error", None, None, 6),  # blank lines keep their place in the delivery order
    ]
    assert postgres_database.rows(
        "select reason, line_number, regexp_replace(_source, '.*/', '') from raw.quarantine"
    ) == [("duration_ms: expected an integer", 4, "1.jsonl")]
    assert postgres_database.rows(
        "select fetched, loaded, duplicates, quarantined, corrections, outside_window, window_start, window_end "
        "from raw.load_batches"
    ) == [(6, 3, 1, 2, 1, 1, datetime(2026, 11, 20), datetime(2026, 11, 21))]

    # delivered again, with one more file: only the new record loads, after everything stored
    write_landing(landing, "traces", {"3.jsonl": [span("s5", "2026-11-20T13:00:00Z")]})
    (again,) = load_landing(warehouse, landing, endpoints=["traces"], window=window)
    assert (again.fetched, again.loaded, again.duplicates, again.quarantined) == (7, 1, 4, 2)
    assert postgres_database.rows("select span_id, _delivery_seq from raw.traces where span_id = 's5'") == [
        ("s5", 6 + 9)
    ]
    assert postgres_database.rows("select count(*) from raw.quarantine") == [(1,)]


def test_concurrent_loads_of_one_endpoint_store_each_version_once(tmp_path, postgres_database):
    landing = write_landing(
        tmp_path, "traces", {"1.jsonl": [span(f"s{n}", "2026-11-20T10:00:00Z") for n in range(2000)] + ["oops"]}
    )
    warehouse = postgres_database.warehouse()
    results = []
    loads = [
        threading.Thread(target=lambda: results.extend(load_landing(warehouse, landing, endpoints=["traces"])))
        for _ in range(3)
    ]
    for load in loads:
        load.start()
    for load in loads:
        load.join()

    assert sorted(r.loaded for r in results) == [0, 0, 2000]
    assert postgres_database.rows(
        "select count(*), count(distinct span_id), min(_delivery_seq), max(_delivery_seq) from raw.traces"
    ) == [(2000, 2000, 1, 2000)]
    assert postgres_database.rows("select count(*) from raw.quarantine") == [(1,)]


def test_warehouse_settings(monkeypatch):
    for name in ("WAREHOUSE_TYPE", "WAREHOUSE", "PG_HOST", "PG_PORT", "PG_USER", "PG_PASSWORD", "PG_DBNAME"):
        monkeypatch.delenv(f"TOKENBOOKS_{name}", raising=False)
    monkeypatch.delenv("TOKENBOOKS_PG_SSLMODE", raising=False)
    assert configured_warehouse().describe() == str(Path("data/warehouse.duckdb").absolute())

    monkeypatch.setenv("TOKENBOOKS_WAREHOUSE_TYPE", "postgres")
    monkeypatch.setenv("TOKENBOOKS_PG_HOST", "db.internal")
    monkeypatch.setenv("TOKENBOOKS_PG_PASSWORD", "s3cret")
    warehouse = configured_warehouse()
    assert warehouse == PostgresWarehouse(host="db.internal", password="s3cret")
    assert "s3cret" not in repr(warehouse) + warehouse.describe()
    assert warehouse.describe() == "postgresql://tokenbooks@db.internal:5432/tokenbooks"

    for setting, value, message in [
        ("TOKENBOOKS_PG_PORT", "54x", "TOKENBOOKS_PG_PORT: expected a TCP port number, got '54x'"),
        ("TOKENBOOKS_PG_SSLMODE", "on", "TOKENBOOKS_PG_SSLMODE: expected one of disable, allow, prefer"),
        ("TOKENBOOKS_WAREHOUSE_TYPE", "sqlite", "TOKENBOOKS_WAREHOUSE_TYPE: expected one of duckdb, postgres"),
    ]:
        with monkeypatch.context() as patch:
            patch.setenv(setting, value)
            with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
                configured_warehouse()
    with pytest.raises(ConfigError, match="--warehouse names a DuckDB file, but TOKENBOOKS_WAREHOUSE_TYPE is postgres"):
        configured_warehouse(duckdb_path="w.duckdb")


def test_a_row_postgres_refuses_is_not_quoted_in_the_error(tmp_path, postgres_database, monkeypatch):
    import warehouse.postgres

    secret = "sk-live-0123456789abcdefSECRET"
    # without the loader's NUL handling of JSON, jsonb refuses "\u0000" and its CONTEXT quotes the whole row
    without_nul = warehouse.postgres._without_nul
    monkeypatch.setattr(
        warehouse.postgres,
        "_without_nul",
        lambda name, kind: f'"{name}"' if kind == "json" else without_nul(name, kind),
    )
    attributes = {"note": f"{secret}\0"}
    landing = write_landing(
        tmp_path, "traces", {"1.jsonl": [span("s1", "2026-11-20T10:00:00Z", attributes=attributes)]}
    )
    with pytest.raises(LoadError) as raised:
        load_landing(postgres_database.warehouse(), landing, endpoints=["traces"])
    assert str(raised.value) == "copying _candidates into PostgreSQL: unsupported Unicode escape sequence"
    assert raised.value.__suppress_context__
