"""The run progress logger: one line per step start and end, nothing else, on a tiny in-memory job."""

import io
import re

import dagster as dg

from cli.progress import progress_logger
from orchestration.progress import StepProgress


@dg.asset(check_specs=[dg.AssetCheckSpec("positive", asset="numbers")])
def numbers():
    yield dg.MaterializeResult()
    yield dg.AssetCheckResult(check_name="positive", passed=False)


@dg.asset(deps=[numbers])
def broken() -> None:
    raise ValueError("the platform said no\nsecond line of detail")


def test_one_line_per_step_start_and_end_with_assets_checks_and_the_root_error():
    stream = io.StringIO()
    defs = dg.Definitions(
        assets=[numbers, broken],
        jobs=[dg.define_asset_job("all", selection=dg.AssetSelection.all())],
        loggers={"progress": progress_logger(stream)},
    )

    result = defs.resolve_job_def("all").execute_in_process(
        run_config={"loggers": {"progress": {}}}, raise_on_error=False
    )

    assert not result.success
    lines = [re.sub(r"\d+\.\d s", "N s", line) for line in stream.getvalue().splitlines()]
    assert [line.split("] ", 1)[1] for line in lines] == [
        "numbers                      started",
        "numbers                      done in N s: 1 asset(s), 0 check(s) passed, 1 FAILED: numbers:positive",
        "broken                       started",
        "broken                       FAILED after N s: ValueError: the platform said no",
    ]
    assert all(re.match(r"\[\d\d:\d\d:\d\d\] ", line) for line in lines)


@dg.asset
def long_load(context: dg.AssetExecutionContext) -> None:
    progress = StepProgress(context.log, "load traces", {"files": 2, "bytes": 2000}, measure="bytes", interval=0)
    progress.update({"files": 1, "bytes": 1000})
    progress.update({"files": 2, "bytes": 2000})


def test_progress_within_a_step_is_a_line_each_off_a_terminal():
    stream = io.StringIO()
    defs = dg.Definitions(assets=[long_load], loggers={"progress": progress_logger(stream)})

    result = defs.resolve_implicit_global_asset_job_def().execute_in_process(run_config={"loggers": {"progress": {}}})

    assert result.success
    lines = [
        re.sub(r"\d+\.\d s|[\d.]+ [KM]?B/s|about \d+ s", "N", line.split("] ", 1)[1])
        for line in stream.getvalue().splitlines()
    ]
    assert lines == [
        "long_load                    started",
        "  load traces: 1 of 2 files, 1.0 KB of 2.0 KB (50%), N, N left",
        "  load traces: 2 of 2 files, 2.0 KB of 2.0 KB (100%), N, in N",
        "long_load                    done in N: 1 asset(s), 0 check(s) passed",
    ]
