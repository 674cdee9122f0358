"""Ingestion over real HTTP from the platform emulator, with injected faults: no loss, no duplicates."""

from __future__ import annotations

import time
from datetime import date, datetime
from pathlib import Path

import pytest

from ingestion.load import ingest_endpoint, load_landing
from ingestion.records import ENDPOINTS
from ingestion.sources import ApiSource
from sample_platform.emulator import PlatformEmulator, running_emulator
from sample_platform.generator import generate
from warehouse import connect

KEY = "test-key"


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sample")
    generate(out, orgs=3, days=3, start=date(2026, 11, 1), seed=11, spans_per_day=120)
    return out


@pytest.fixture(scope="module")
def reference(sample, tmp_path_factory) -> Path:
    warehouse = tmp_path_factory.mktemp("reference") / "w.duckdb"
    load_landing(warehouse, sample)
    return warehouse


def versions(warehouse: Path, endpoint: str) -> tuple[set[tuple[str, str]], dict[str, str]]:
    """All stored (id, content hash) pairs, and the winning hash per id (the contract's rule)."""
    spec = ENDPOINTS[endpoint]
    # events: the latest delivery wins; snapshots: the latest event time, delivery order breaking ties
    order = f'"{spec.event_time_field}", _delivery_seq' if spec.snapshot else "_delivery_seq"
    con = connect(warehouse)
    try:
        rows = con.execute(f'select "{spec.id_field}", _record_hash from raw.{spec.table} order by {order}').fetchall()
    finally:
        con.close()
    return set(rows), dict(rows)


def accelerated_clock(hours_per_second: float):
    """The emulator's rate-limit hour passes in a fraction of a real second, so Retry-After waits stay short."""
    start = time.time()
    return lambda: start + (time.time() - start) * 3600 * hours_per_second


def test_faulty_api_loads_exactly_what_the_files_hold(sample, reference, tmp_path, monkeypatch):
    monkeypatch.setenv("TOKENBOOKS_API_TIMEOUT_SECONDS", "0.5")
    monkeypatch.setenv("TOKENBOOKS_API_BACKOFF_SECONDS", "0.01")
    emulator = PlatformEmulator(
        sample,
        api_keys=[KEY],
        requests_per_hour=20,
        retry_after_seconds=1,
        error_rate=0.15,
        timeout_rate=0.05,
        timeout_seconds=1.5,
        duplicate_page_rate=0.2,
        seed=3,
        clock=accelerated_clock(1.0),
    )
    warehouse = tmp_path / "api.duckdb"
    with running_emulator(emulator) as url:
        source = ApiSource(url, KEY, page_size=40, timeout_seconds=0.5, max_attempts=12, backoff_base_seconds=0.01)
        results = {name: ingest_endpoint(warehouse, source, name) for name in ENDPOINTS}
    assert all(r.reconciles for r in results.values())
    assert sum(r.duplicates for r in results.values()) > 0  # overlapping pages really happened
    for name in ENDPOINTS:
        assert versions(warehouse, name) == versions(reference, name), name


def test_late_record_is_found_by_the_next_windows_lookback(sample, tmp_path):
    emulator = PlatformEmulator(sample, api_keys=[KEY], requests_per_hour=10_000)
    warehouse = tmp_path / "late.duckdb"
    late_span = {
        "span_id": "spn_late_1",
        "trace_id": "trc_late",
        "organization_id": "org_late",
        "started_at": "2026-11-01T23:30:00Z",
        "kind": "retrieval",
        "duration_ms": 12,
        "status": "ok",
    }
    with running_emulator(emulator) as url:
        source = ApiSource(url, KEY, page_size=500)
        first = ingest_endpoint(warehouse, source, "traces", (datetime(2026, 11, 1), datetime(2026, 11, 2)))
        emulator.add_records("traces", [late_span])  # visible only after the first day was loaded
        # the next day's run starts its window 48 hours early
        second = ingest_endpoint(warehouse, source, "traces", (datetime(2026, 10, 31), datetime(2026, 11, 3)))
    assert first.loaded > 0
    con = connect(warehouse)
    found = con.execute("select count(*) from raw.traces where span_id = 'spn_late_1'").fetchone()[0]
    con.close()
    assert found == 1
    assert second.duplicates >= first.loaded - first.corrections  # the first day came back as duplicates


def test_hostile_records_from_the_api_are_quarantined_as_from_files(tmp_path):
    span = '{"span_id": "%s", "organization_id": "o", "started_at": "2026-11-01T10:00:00Z"%s}'
    (tmp_path / "landing" / "traces").mkdir(parents=True)
    (tmp_path / "landing" / "traces" / "2026-11-01.jsonl").write_text(
        "\n".join([span % ("a", ""), span % ("b", ', "name": "\\ud800"'), span % ("c", ', "x": NaN')]) + "\n"
    )
    with running_emulator(tmp_path / "landing", api_keys=[KEY], requests_per_hour=10_000) as url:
        result = ingest_endpoint(tmp_path / "w.duckdb", ApiSource(url, KEY, page_size=500), "traces")
    assert (result.fetched, result.loaded, result.quarantined) == (3, 1, 2)
    con = connect(tmp_path / "w.duckdb")
    try:
        assert con.execute("select reason, raw_line from raw.quarantine order by raw_line").fetchall() == [
            (
                "malformed JSON",
                '{"span_id":"b","organization_id":"o","started_at":"2026-11-01T10:00:00Z","name":"\\ud800"}',
            ),
            ("malformed JSON", '{"span_id":"c","organization_id":"o","started_at":"2026-11-01T10:00:00Z","x":NaN}'),
        ]
    finally:
        con.close()
