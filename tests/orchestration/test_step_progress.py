"""Progress within a long step: exact lines on a fake clock, one line per interval at most, and the run tags a
dbt build reads its days from."""

import logging

import pytest

from orchestration.partitions import run_partition_window
from orchestration.progress import PROGRESS_ATTRIBUTE, ProgressFigures, StepProgress, human_bytes


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Capture(logging.Handler):
    def __init__(self):
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def log():
    logger = logging.Logger("progress-test", level=logging.INFO)
    capture = Capture()
    logger.addHandler(capture)
    logger.records = capture.records
    return logger


def test_a_load_reports_files_bytes_rate_and_time_left_every_interval_and_at_the_end(log):
    clock = Clock()
    progress = StepProgress(log, "load traces", {}, measure="bytes", interval=5, clock=clock)

    progress.update({"files": 0, "bytes": 0}, {"files": 4, "bytes": 4_000_000_000})
    clock.now += 2
    progress.update({"files": 1, "bytes": 500_000_000})  # not due yet: 2 s since the start
    clock.now += 8
    progress.update({"files": 2, "bytes": 1_000_000_000})
    clock.now += 30
    progress.update({"files": 4, "bytes": 4_000_000_000})
    progress.finish()

    assert [record.getMessage() for record in log.records] == [
        "load traces: 2 of 4 files, 1.0 GB of 4.0 GB (25%), 100.0 MB/s, about 30 s left",
        "load traces: 4 of 4 files, 4.0 GB of 4.0 GB (100%), 100.0 MB/s, in 40.0 s",
    ]  # finish() repeats nothing: the last line said it all
    figures = getattr(log.records[0], PROGRESS_ATTRIBUTE)
    assert figures == ProgressFigures("load traces", 0.25, log.records[0].getMessage())


def test_dbt_counts_models_and_tests_together_and_gives_no_estimate_from_its_first_nodes(log):
    clock = Clock()
    progress = StepProgress(log, "dbt build", {"models": 10, "tests": 30}, interval=5, clock=clock)

    clock.now += 6
    progress.advance("models")  # 1 of 40 nodes: too early for an estimate
    clock.now += 6
    for _ in range(9):
        progress.advance("models")
    for _ in range(10):
        progress.advance("tests")

    assert [record.getMessage() for record in log.records] == [
        "dbt build: 1 of 10 models, 0 of 30 tests (2%)",
        "dbt build: 2 of 10 models, 0 of 30 tests (5%), about 228 s left",
    ]


def test_an_empty_step_is_done_at_once(log):
    progress = StepProgress(log, "load feedback", {"files": 0, "bytes": 0}, measure="bytes", clock=Clock())
    progress.finish()

    assert [record.getMessage() for record in log.records] == [
        "load feedback: 0 of 0 files, 0 B of 0 B (100%), in 0.0 s"
    ]


def test_bytes_read_as_a_person_would_say_them():
    assert [human_bytes(n) for n in (0, 999, 1000, 1_234_567, 24_141_000_000, 5e15)] == [
        "0 B",
        "999 B",
        "1.0 KB",
        "1.2 MB",
        "24.1 GB",
        "5000.0 TB",
    ]


def test_a_run_names_its_days_by_partition_tags_or_by_build_tags():
    single = run_partition_window({"dagster/partition": "2026-03-01"})
    ranged = run_partition_window(
        {"dagster/asset_partition_range_start": "2026-03-01", "dagster/asset_partition_range_end": "2026-03-03"}
    )
    built = run_partition_window(
        {"tokenbooks/build_first_day": "2026-03-01", "tokenbooks/build_last_day": "2026-03-03"}
    )

    assert (single.start.isoformat(), single.end.isoformat()) == (
        "2026-03-01T00:00:00+00:00",
        "2026-03-02T00:00:00+00:00",
    )
    assert ranged == built
    assert (built.start.isoformat(), built.end.isoformat()) == (
        "2026-03-01T00:00:00+00:00",
        "2026-03-04T00:00:00+00:00",
    )
    assert run_partition_window({}) is None
    assert run_partition_window({"tokenbooks/build_first_day": "2026-03-01"}) is None
