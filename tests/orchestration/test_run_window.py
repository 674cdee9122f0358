import gzip
from datetime import date
from pathlib import Path

import pytest

from ingestion.sources import LandingSource
from orchestration.windows import RunWindow, choose_window, landing_event_dates
from settings import ConfigError

FIRST = date(2026, 1, 1)
LAST = date(2026, 11, 21)


def choose(start=None, end=None, data_days=None):
    return choose_window(start=start, end=end, data_days=data_days, first_partition=FIRST, last_partition=LAST)


def test_given_days_are_half_open():
    assert choose(date(2026, 3, 1), date(2026, 3, 8)) == RunWindow(date(2026, 3, 1), date(2026, 3, 7))


def test_without_days_the_data_days_are_used_both_included():
    assert choose(data_days=(date(2026, 3, 1), date(2026, 3, 2))) == RunWindow(date(2026, 3, 1), date(2026, 3, 2))


def test_without_days_or_data_every_partition_is_used():
    assert choose() == RunWindow(FIRST, LAST)


def test_one_given_bound_keeps_the_other_from_the_data():
    data = (date(2026, 3, 1), date(2026, 3, 9))

    assert choose(start=date(2026, 3, 5), data_days=data) == RunWindow(date(2026, 3, 5), date(2026, 3, 9))
    assert choose(end=date(2026, 3, 5), data_days=data) == RunWindow(date(2026, 3, 1), date(2026, 3, 4))


def test_data_outside_the_partitions_is_left_out_with_notes():
    window = choose(data_days=(date(2025, 12, 30), date(2026, 11, 22)))

    assert (window.first_day, window.last_day) == (FIRST, LAST)
    assert window.notes == (
        "records before 2026-01-01 are left out: set TOKENBOOKS_PARTITIONS_START to an earlier day to load them",
        "records after 2026-11-21 are left out until their day is complete",
    )


def test_days_asked_outside_the_partitions_are_errors_naming_the_flag_and_the_limit():
    with pytest.raises(ConfigError, match=r"--start 2025-12-31: expected a day from 2026-01-01 on"):
        choose(start=date(2025, 12, 31))
    with pytest.raises(ConfigError, match=r"--end 2026-11-23: expected a day up to 2026-11-22"):
        choose(end=date(2026, 11, 23))


def test_the_last_complete_day_can_be_asked_for():
    assert choose(start=LAST, end=date(2026, 11, 22)) == RunWindow(LAST, LAST)


def test_an_empty_window_is_an_error():
    with pytest.raises(ConfigError, match="no day to run from 2026-03-02 to 2026-03-02"):
        choose(start=date(2026, 3, 2), end=date(2026, 3, 2))


def test_describe_shows_the_half_open_window():
    assert RunWindow(date(2026, 3, 1), date(2026, 3, 2)).describe() == "[2026-03-01, 2026-03-03) (2 day(s))"


def write_lines(path: Path, lines: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "\n".join(lines) + "\n"
    if path.name.endswith(".gz"):
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)


def test_landing_event_dates_span_every_event_endpoint_in_utc(tmp_path):
    write_lines(
        tmp_path / "logs" / "a.jsonl",
        [
            '{"id": "r1", "timestamp": "2026-03-02T10:00:00Z"}',
            "not json",
            '{"id": "r2", "timestamp": "2026-03-04T01:30:00+02:00"}',  # 2026-03-03 in UTC
            '{"id": "r3", "timestamp": "yesterday"}',
            '{"id": "r4", "timestamp": 1772400000}',
            "",
        ],
    )
    write_lines(tmp_path / "traces" / "b.jsonl.gz", ['{"span_id": "s1", "started_at": "2026-02-28T23:59:59.5Z"}'])
    # snapshots have no time window: their times do not stretch the run
    write_lines(tmp_path / "organizations" / "c.jsonl", ['{"id": "o1", "updated_at": "2025-06-01T00:00:00Z"}'])

    assert landing_event_dates(LandingSource(tmp_path)) == (date(2026, 2, 28), date(2026, 3, 3))


def test_landing_without_event_records_has_no_dates(tmp_path):
    write_lines(tmp_path / "keys" / "k.jsonl", ['{"id": "k1", "last_used_at": "2026-03-01T00:00:00Z"}'])

    assert landing_event_dates(LandingSource(tmp_path)) is None


def test_hostile_lines_never_stop_the_window_discovery(tmp_path):
    (tmp_path / "traces").mkdir()
    deep = b'{"span_id": "s0", "started_at": "2026-01-01T00:00:00Z", "x": ' + b"[" * 200_000 + b"]" * 200_000 + b"}"
    (tmp_path / "traces" / "a.jsonl").write_bytes(
        b'{"span_id": "s1", "started_at": "2026-03-02T10:00:00Z", "name": "caf\xe9"}\n'  # not UTF-8: skipped
        + deep  # deeper than DuckDB's read_json allows (it used to stop the run): skipped
        + b'\n{"span_id": "s2", "started_at": "2026-03-03T10:00:00Z", "n": NaN}\n'  # not JSON: skipped
        + b'{"span_id": "s3", "started_at": "2026-03-04T10:00:00Z"}\r\n'
        + b'{"span_id": "s4", "started_at": "2026-03-05T10:00:\x00"}\n'
    )
    # a complete gzip member, then one cut short: only the complete member's lines count
    cut = gzip.compress(b"".join(b'{"id": "r%d", "timestamp": "2026-03-07T00:00:00Z"}\n' % n for n in range(9999)))
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "cut.jsonl.gz").write_bytes(
        gzip.compress(b'{"id": "r", "timestamp": "2026-03-06T00:00:00Z"}\n') + cut[: len(cut) // 2]
    )

    assert landing_event_dates(LandingSource(tmp_path)) == (date(2026, 3, 4), date(2026, 3, 6))
