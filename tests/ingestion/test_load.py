"""The loader: exact counts, idempotence, corrections, windows, quarantine, redaction, kill-and-resume."""

from __future__ import annotations

import gzip
import itertools
import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest

from ingestion.load import load_files, load_landing
from settings import ConfigError
from warehouse import DuckDBWarehouse, LoadError, Warehouse, as_warehouse, connect, sql_str

REPO = Path(__file__).resolve().parents[2]
NONE2 = (None, None)


def span(span_id: str, started_at: str, **extra) -> dict:
    return {
        "span_id": span_id,
        "trace_id": "trc_1",
        "organization_id": "org_a",
        "started_at": started_at,
        "kind": "llm",
        "status": "ok",
        "duration_ms": 900,
        "llm": {"provider": "openai", "model": "gpt-4o-mini-2024-07-18", "usage": {"input_tokens": 100}},
        **extra,
    }


def write_lines(path: Path, lines: list[object]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines)
    if path.name.endswith(".gz"):
        with gzip.open(path, "wt", encoding="utf-8") as out:
            out.write(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def raw_rows(warehouse: Warehouse | Path, table: str) -> list[tuple]:
    """Rows without per-load metadata, in delivery order (absolute sequence numbers may differ), as text."""
    with as_warehouse(warehouse).session(read_only=True) as session:
        columns = [
            r[0]
            for r in session.fetchall(
                "select column_name from information_schema.columns where table_schema = 'raw' "
                f"and table_name = {sql_str(table)} "
                "and column_name not in ('_batch_id', '_loaded_at', '_delivery_seq') order by ordinal_position"
            )
        ]
        order = "_delivery_seq" if table != "quarantine" else "_line_hash"
        select = ", ".join(f'cast("{c}" as varchar)' for c in columns)
        return session.fetchall(f"select {select} from raw.{table} order by {order}")


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    root = tmp_path / "landing"
    write_lines(
        root / "traces" / "2026-11-20.jsonl",
        [
            span("s1", "2026-11-20T10:00:00Z", payload={"input": "mail ann@example.com, call +1 415 555 0100"}),
            span("s2", "2026-11-20T11:00:00.5+01:00", unknown_field={"kept": True}),
            "",
            "   ",
            '{"span_id": "s3", "organization_id": "org_a", "started_at": ',
            span("s4", "2026-11-20T12:00:00Z", duration_ms="1420ms"),
            span("s1", "2026-11-20T10:00:00Z", payload={"input": "mail ann@example.com, call +1 415 555 0100"}),
        ],
    )
    write_lines(
        root / "traces" / "2026-11-21.jsonl.gz",
        [
            span("s1", "2026-11-20T10:00:00Z", status="error"),  # correction, delivered later
            span("s5", "2026-11-21T00:00:00Z"),
            '["not", "an", "object"]',
            '{"span_id": "s3", "organization_id": "org_a", "started_at": ',  # the same bad line again
        ],
    )
    write_lines(
        root / "organizations" / "snapshot-1.jsonl",
        [{"id": "org_a", "name": "A", "updated_at": "2026-11-01T00:00:00Z"}],
    )
    return root


def test_counts_reconcile_exactly(tmp_path, landing):
    warehouse = tmp_path / "w.duckdb"
    results = {r.endpoint: r for r in load_landing(warehouse, landing, endpoints=["traces", "organizations"])}
    traces = results["traces"]
    assert (traces.fetched, traces.loaded, traces.duplicates, traces.quarantined) == (9, 4, 1, 4)
    assert traces.corrections == 1
    assert traces.reconciles
    assert (results["organizations"].fetched, results["organizations"].loaded) == (1, 1)

    con = connect(warehouse)
    quarantine = con.execute(
        "select reason, line_number, regexp_extract(_source, '[^/]+$') "
        "from raw.quarantine order by _source, line_number"
    ).fetchall()
    batches = con.execute(
        "select sum(fetched), sum(loaded), sum(duplicates), sum(quarantined) from raw.load_batches "
        "where endpoint = 'traces'"
    ).fetchone()
    con.close()
    assert quarantine == [
        ("malformed JSON", 5, "2026-11-20.jsonl"),
        ("duration_ms: expected an integer", 6, "2026-11-20.jsonl"),
        ("not a JSON object", 3, "2026-11-21.jsonl.gz"),
    ]
    assert batches == (9, 4, 1, 4)


def test_versions_extras_and_redaction(tmp_path, landing):
    warehouse = tmp_path / "w.duckdb"
    load_landing(warehouse, landing, endpoints=["traces"])
    con = connect(warehouse)
    rows = con.execute(
        "select span_id, status, started_at, payload, _record ->> '$.unknown_field.kept', _record ->> '$.payload' "
        "from raw.traces order by _delivery_seq"
    ).fetchall()
    con.close()
    assert rows == [
        ("s1", "ok", datetime(2026, 11, 20, 10), '{"input":"mail [redacted-email], call [redacted-phone]"}', *NONE2),
        ("s2", "ok", datetime(2026, 11, 20, 10, 0, 0, 500000), None, "true", None),
        ("s1", "error", datetime(2026, 11, 20, 10), None, None, None),
        ("s5", "ok", datetime(2026, 11, 21), None, None, None),
    ]


def test_record_keeps_only_the_fields_the_contract_does_not_know(tmp_path):
    """The typed columns hold the known fields; ``_record`` holds the rest, where it was delivered, exactly."""
    usage = {"input_tokens": 100, "thinking_budget": 5}
    llm = {"provider": "openai", "model": "gpt-4o-mini-2024-07-18", "usage": usage}
    files = [
        write_lines(
            tmp_path / "traces" / "2026-11-20.jsonl",
            [
                span("known", "2026-11-20T10:00:00Z", payload={"input": "hi"}),
                span("top", "2026-11-20T10:00:00Z", region="eu", payload={"input": "hi"}),
                span("nested", "2026-11-20T10:00:00Z", llm=llm),
                '{"span_id": "big", "organization_id": "org_a", "started_at": "2026-11-20T10:00:00Z", "kind": "tool", '
                '"status": "ok", "duration_ms": 1, "count": 1180591620717411303424}',
            ],
        )
    ]
    warehouse = tmp_path / "w.duckdb"
    load_files(warehouse, "traces", files)
    con = connect(warehouse)
    rows = con.execute("select span_id, cast(_record as varchar) from raw.traces order by _delivery_seq").fetchall()
    con.close()
    assert rows == [
        ("known", None),
        ("top", '{"region":"eu"}'),
        # the unknown field stays inside the contract object that holds it, kept whole
        (
            "nested",
            '{"llm":{"provider":"openai","model":"gpt-4o-mini-2024-07-18",'
            '"usage":{"input_tokens":100,"thinking_budget":5}}}',
        ),
        ("big", '{"count":1180591620717411303424}'),
    ]


def test_reloading_changes_nothing(tmp_path, landing):
    warehouse = tmp_path / "w.duckdb"
    load_landing(warehouse, landing)
    before = {t: raw_rows(warehouse, t) for t in ("traces", "organizations", "quarantine")}
    again = {r.endpoint: r for r in load_landing(warehouse, landing)}
    assert (again["traces"].loaded, again["traces"].duplicates, again["traces"].quarantined) == (0, 5, 4)
    assert {t: raw_rows(warehouse, t) for t in before} == before


def test_window_is_half_open_and_snapshots_ignore_it(tmp_path, landing):
    warehouse = tmp_path / "w.duckdb"
    window = (datetime.fromisoformat("2026-11-20T10:00:00+00:00"), datetime.fromisoformat("2026-11-21T00:00:00+00:00"))
    results = {r.endpoint: r for r in load_landing(warehouse, landing, window=window)}
    assert results["traces"].outside_window == 1  # s5 starts exactly at the window's end
    assert results["organizations"].loaded == 1
    con = connect(warehouse)
    loaded = con.execute("select distinct span_id from raw.traces order by 1").fetchall()
    con.close()
    assert loaded == [("s1",), ("s2",)]
    # the next window picks up s5, and a late record for the earlier window is found by a lookback
    write_lines(landing / "traces" / "2026-11-22.jsonl", [span("s6", "2026-11-20T23:59:59.999Z")])
    lookback = (datetime(2026, 11, 20), datetime(2026, 11, 22))
    late = {r.endpoint: r for r in load_landing(warehouse, landing, endpoints=["traces"], window=lookback)}
    assert (late["traces"].loaded, late["traces"].outside_window) == (2, 0)


@pytest.fixture(params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def new_warehouse(request, tmp_path) -> Callable[[], Warehouse]:
    """A factory of fresh, empty warehouses of one kind: a test using it runs on DuckDB files and on PostgreSQL."""
    if request.param == "postgres":
        server = request.getfixturevalue("postgres_server")
        return lambda: server.new_database().warehouse()
    files = itertools.count()
    return lambda: DuckDBWarehouse(tmp_path / f"warehouse_{next(files)}.duckdb")


def test_kill_and_resume_ends_like_an_uninterrupted_load(tmp_path, new_warehouse, monkeypatch):
    monkeypatch.setenv("TOKENBOOKS_LOAD_CHUNK_BYTES", "1")  # one file per chunk: many commit points
    landing = tmp_path / "landing"
    for day in range(12):
        write_lines(
            landing / "traces" / f"part-{day:02d}.jsonl",
            [span(f"s{day}_{n}", f"2026-11-{day + 1:02d}T10:00:00Z") for n in range(400)]
            + [span(f"s{max(day - 1, 0)}_0", f"2026-11-{max(day, 1):02d}T10:00:00Z", status="error"), "oops"],
        )
    reference, resumed = new_warehouse(), new_warehouse()
    load_landing(reference, landing, endpoints=["traces"])

    # the same load in another process, pointed at the resumed warehouse by its settings, killed mid-way
    env = {**os.environ, **resumed.dbt_env(), "TOKENBOOKS_WAREHOUSE_TYPE": resumed.kind}
    script = (
        "import logging, sys; logging.basicConfig(stream=sys.stdout, level=logging.INFO, format='%(message)s');"
        "from ingestion.load import load_landing; from warehouse import configured_warehouse;"
        f"load_landing(configured_warehouse(), {str(landing)!r}, endpoints=['traces'])"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script], cwd=REPO, env=env, stdout=subprocess.PIPE, text=True, bufsize=1
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("committed traces chunk 3"):
            proc.send_signal(signal.SIGKILL)
            break
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    partial = raw_rows(resumed, "traces")
    assert 0 < len(partial) < len(raw_rows(reference, "traces"))

    load_landing(resumed, landing, endpoints=["traces"])
    for table in ("traces", "quarantine"):
        assert raw_rows(resumed, table) == raw_rows(reference, table), table


def test_empty_and_missing_inputs_load_nothing(tmp_path):
    empty = write_lines(tmp_path / "landing" / "logs" / "empty.jsonl", [])
    result = load_files(tmp_path / "w.duckdb", "logs", [empty])
    assert (result.fetched, result.loaded) == (0, 0)
    assert load_landing(tmp_path / "w.duckdb", tmp_path / "landing", endpoints=["feedback"])[0].fetched == 0


def test_windowed_loads_skip_known_files_with_nothing_in_the_window(tmp_path, landing):
    warehouse = tmp_path / "w.duckdb"
    load_landing(warehouse, landing)
    con = connect(warehouse)
    known = con.execute(
        "select endpoint, regexp_extract(path, '[^/]+$'), lines, cast(first_event_at as varchar), "
        "cast(last_event_at as varchar) from raw.landing_files order by 1, 2"
    ).fetchall()
    con.close()
    assert known == [
        ("organizations", "snapshot-1.jsonl", 1, "2026-11-01 00:00:00", "2026-11-01 00:00:00"),
        ("traces", "2026-11-20.jsonl", 5, "2026-11-20 10:00:00", "2026-11-20 10:00:00.5"),  # s4 is invalid
        ("traces", "2026-11-21.jsonl.gz", 4, "2026-11-20 10:00:00", "2026-11-21 00:00:00"),
    ]
    # 11-21 only: the first file has nothing in it, the snapshot was read whole; the second file is read again
    day = (datetime.fromisoformat("2026-11-21T00:00:00+00:00"), datetime.fromisoformat("2026-11-22T00:00:00+00:00"))
    results = {r.endpoint: r for r in load_landing(warehouse, landing, window=day)}
    assert (results["traces"].files_skipped, results["traces"].fetched, results["traces"].duplicates) == (1, 3, 1)
    assert (results["organizations"].files_skipped, results["organizations"].fetched) == (1, 0)
    # a changed file is read again, whatever it held before; so is every file of an unwindowed load
    write_lines(landing / "traces" / "2026-11-20.jsonl", [span("s7", "2026-11-21T08:00:00Z")])
    (changed,) = load_landing(warehouse, landing, endpoints=["traces"], window=day)
    assert (changed.files_skipped, changed.loaded) == (0, 1)
    (full,) = load_landing(warehouse, landing, endpoints=["traces"])
    assert (full.files_skipped, full.loaded) == (0, 0)


def test_the_duckdb_memory_limit_comes_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("TOKENBOOKS_DUCKDB_MEMORY_LIMIT", "1GB")
    con = connect(tmp_path / "w.duckdb")
    try:
        assert con.execute("select current_setting('memory_limit')").fetchone() == ("953.6 MiB",)
    finally:
        con.close()
    monkeypatch.setenv("TOKENBOOKS_DUCKDB_MEMORY_LIMIT", "lots")
    with pytest.raises(ConfigError, match="TOKENBOOKS_DUCKDB_MEMORY_LIMIT: expected a memory size such as 4GB"):
        load_landing(tmp_path / "w.duckdb", tmp_path)


SECRET = "sk-live-0123456789abcdefSECRET"


def test_quarantined_lines_are_redacted_and_hashed_as_stored(tmp_path):
    bad = json.dumps(span("s1", "2026-11-20T10:00:00Z", duration_ms="1420ms", payload={"input": f"key {SECRET}"}))
    landing = tmp_path / "landing"
    (landing / "traces").mkdir(parents=True)
    (landing / "traces" / "1.jsonl").write_bytes(
        f'{{"span_id": "{SECRET}", "oops"\n'.encode() + bad.encode() + b'\n{"name": "caf\xe9"}\n{"ok": 1}\n'
    )
    (result,) = load_landing(tmp_path / "w.duckdb", landing, endpoints=["traces"])
    assert (result.fetched, result.quarantined) == (4, 4)
    con = connect(tmp_path / "w.duckdb")
    rows = con.execute(
        "select line_number, reason, raw_line, record_id, raw_line_escaped, _line_hash = md5(raw_line) "
        "from raw.quarantine order by line_number"
    ).fetchall()
    con.close()
    assert rows == [
        (1, "malformed JSON", '{"span_id": "[redacted-secret]", "oops"', None, False, True),
        (2, "duration_ms: expected an integer", bad.replace(SECRET, "[redacted-secret]"), "s1", False, True),
        (3, "not valid UTF-8", '{"name": "caf\\xe9"}', None, True, True),
        (4, "span_id: missing; organization_id: missing; started_at: missing", '{"ok": 1}', None, False, True),
    ]


def test_an_older_quarantine_is_redacted_once_when_upgraded(tmp_path):
    warehouse = tmp_path / "w.duckdb"
    con = connect(warehouse)
    con.execute("create schema raw")
    con.execute(
        "create table raw.quarantine (endpoint varchar, reason varchar, raw_line varchar, record_id varchar, "
        "_source varchar, line_number bigint, _line_hash varchar, _batch_id varchar, _loaded_at timestamp)"
    )
    stored = f'{{"span_id": "{SECRET}", "oops"'
    con.execute("insert into raw.quarantine values ('traces', 'malformed JSON', ?, ?, 'f', 1, md5(?), 'b', now())",
                [stored, SECRET, stored])  # fmt: skip
    con.execute("insert into raw.quarantine values ('traces', 'malformed JSON', 'oops', null, 'f', 2, md5('oops'), "
                "'b', now())")  # fmt: skip
    con.close()
    load_landing(warehouse, tmp_path / "no landing files")
    con = connect(warehouse)
    rows = con.execute(
        "select raw_line, record_id, _line_hash = md5(raw_line), raw_line_escaped "
        "from raw.quarantine order by line_number"
    ).fetchall()
    con.close()
    assert rows == [
        ('{"span_id": "[redacted-secret]", "oops"', "[redacted-secret]", True, False),
        ("oops", None, True, False),
    ]


def test_a_failing_load_quotes_no_delivered_data(tmp_path, monkeypatch, caplog):
    import ingestion.load

    # a future check that parses lines unguarded: DuckDB's error would quote the line
    monkeypatch.setattr(ingestion.load, "json_problem_sql", lambda line: f"cast(json({line} || ' x') as varchar)")
    write_lines(tmp_path / "landing" / "traces" / "1.jsonl", [{"prompt": SECRET}])
    with pytest.raises(LoadError) as raised:
        load_landing(tmp_path / "w.duckdb", tmp_path / "landing", endpoints=["traces"])
    assert str(raised.value) == (
        f"traces: chunk 0 from {tmp_path / 'landing' / 'traces' / '1.jsonl'}: Invalid Input Error: "
        "Malformed JSON at byte 45 of input: unexpected content after document."
    )
    assert raised.value.__cause__ is None and raised.value.__suppress_context__
    assert SECRET not in caplog.text


def test_gzip_files_load_under_a_small_memory_limit(tmp_path, monkeypatch):
    # DuckDB sizes its read buffer from the longest line allowed; left to itself that was 16 GiB for a gzip file
    monkeypatch.setenv("TOKENBOOKS_DUCKDB_MEMORY_LIMIT", "512MB")
    write_lines(
        tmp_path / "landing" / "traces" / "1.jsonl.gz", [span(f"s{n}", "2026-11-20T10:00:00Z") for n in range(3)]
    )
    write_lines(tmp_path / "landing" / "traces" / "2.jsonl.gz", [span("s3", "2026-11-20T10:00:00Z")])
    (result,) = load_landing(tmp_path / "w.duckdb", tmp_path / "landing", endpoints=["traces"])
    assert (result.fetched, result.loaded) == (4, 4)


def test_a_record_the_rules_now_accept_leaves_quarantine_and_loads(tmp_path, monkeypatch):
    """A never-used key was quarantined under the old rule (last_used_at required). Once the rule changes, the
    next load reads the unchanged snapshot file again (it was read under other rules), loads the key, and its
    quarantine row goes: it no longer counts as a bad record."""
    import ingestion.load as load

    never_used = {"id": "k2", "organization_id": "org_a", "last_used_at": None}
    used = {"id": "k1", "organization_id": "org_a", "last_used_at": "2026-11-01T00:00:00Z"}
    landing = tmp_path / "landing"
    # a bad line whose secret is redacted keeps no record hash (a hash of the clear secret would confirm a guess)
    secret = {"id": "k3", "organization_id": "org_a", "name": "sk-" + "a1b2c3d4" * 6, "last_used_at": "yesterday"}
    write_lines(landing / "keys" / "keys.jsonl", [used, never_used, "{not json", secret])
    warehouse = tmp_path / "w.duckdb"
    current_rules = load.reasons_sql

    def old_rules(model):
        missing = "case when json_extract_string(j, '$.last_used_at') is null then 'last_used_at: missing' end"
        reasons = current_rules(model)
        return f"coalesce({reasons}, {missing})" if model.__name__ == "ApiKey" else reasons

    monkeypatch.setattr(load, "reasons_sql", old_rules)
    (before,) = load_landing(warehouse, landing, endpoints=["keys"])
    assert (before.loaded, before.quarantined) == (1, 3)
    con = connect(warehouse)
    try:
        hashed = con.execute("select record_id, _record_hash is not null from raw.quarantine").fetchall()
        assert sorted(hashed, key=str) == [("k2", True), ("k3", False), (None, False)]
    finally:
        con.close()
    monkeypatch.setattr(load, "reasons_sql", current_rules)

    (after,) = load_landing(warehouse, landing, endpoints=["keys"])
    assert (after.fetched, after.loaded, after.duplicates, after.quarantined, after.files_skipped) == (4, 1, 1, 2, 0)
    con = connect(warehouse)
    try:
        assert con.execute("select id from raw.keys order by id").fetchall() == [("k1",), ("k2",)]
        reasons = con.execute("select reason from raw.quarantine order by reason").fetchall()
        assert reasons == [("last_used_at: expected an ISO 8601 timestamp with a UTC offset",), ("malformed JSON",)]
    finally:
        con.close()
    # and with the rules unchanged, the file is not read again
    (again,) = load_landing(warehouse, landing, endpoints=["keys"])
    assert (again.fetched, again.files_skipped) == (0, 1)
