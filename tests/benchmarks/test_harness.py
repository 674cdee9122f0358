"""The benchmark harness: its arithmetic on hand-checked figures, and a tiny run of the real thing."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks import harness
from benchmarks.harness import REPO, slope_per_million, summarize


def _size(calls: int, pipeline: float, floor: float, pandas: float | None = None) -> dict:
    size = {
        "llm_calls": calls,
        "bytes": calls * 2000,
        "ingest": {"seconds": calls / 100_000, "peak_rss_mb": 500.0, "records": calls * 3},
        "duckdb_raw_load": {"seconds": calls / 400_000, "peak_rss_mb": 300.0, "records": calls * 3},
        "pipeline_full": {"seconds": pipeline, "peak_rss_mb": 900.0},
        "floor": {"seconds": floor, "peak_rss_mb": 200.0},
    }
    if pandas is not None:
        size["pandas"] = {"seconds": pandas, "peak_rss_mb": 5000.0}
    return size


def test_summary_ratios_from_hand_checked_figures():
    results = {
        "fixed_overhead": {"seconds": 12.0},
        "sparse_history": {"llm_calls": 300, "days": 180, "seconds": 41.5, "peak_rss_mb": 600.0},
        # pandas ran at 100k and 1M only: its slope is compared with the pipeline's over those sizes
        "sizes": [_size(100_000, 20.0, 1.0, 12.0), _size(1_000_000, 56.0, 3.7, 210.0), _size(10_000_000, 416.0, 30.7)],
        "incremental": [
            {"history_days": 30, "daily_llm_calls": 3000, "seconds": 10.0, "peak_rss_mb": 1.0},
            {"history_days": 365, "daily_llm_calls": 3000, "seconds": 12.5, "peak_rss_mb": 1.0},
        ],
    }
    summary = summarize(results)
    assert summary["slope_s_per_million_calls"] == pytest.approx(
        {"pipeline_full": 40.0, "floor": 3.0, "pandas": 220.0, "ingest": 10.0}
    )
    assert summary["pipeline_slope_over_floor_slope"] == pytest.approx(40 / 3)
    assert summary["pandas_compared_between_calls"] == [100_000, 1_000_000]
    assert summary["pandas_slope_over_pipeline_slope"] == pytest.approx(220 / 40)
    assert summary["incremental_longest_over_shortest_history"] == pytest.approx(1.25)
    assert summary["ingest_rate_records_per_s"] == pytest.approx(300_000)
    assert summary["ingest_rate_mb_per_s"] == pytest.approx(200.0)
    assert summary["ingest_rate_over_raw_load_rate"] == pytest.approx(0.25)
    assert summary["peak_rss_mb_largest"] == 900.0
    assert summary["fixed_overhead_s"] == 12.0
    assert summary["sparse_history_s"] == 41.5
    results |= {"summary": summary, "sizes": results["sizes"][:1]}
    assert "- sparse history: 300 LLM calls over 180 days in one run: 41.50 s, peak RSS 600 MB" in (
        harness.table(results).splitlines()
    )


def test_partial_results_summarize_to_what_was_measured():
    assert slope_per_million([_size(1000, 5.0, 1.0)], "pipeline_full") is None
    summary = summarize({"incremental": [{"history_days": 30, "seconds": 10.0, "peak_rss_mb": 1.0}]})
    assert summary["pipeline_slope_over_floor_slope"] is None
    assert summary["incremental_longest_over_shortest_history"] is None
    assert "ingest_rate_records_per_s" not in summary


def resident_mb() -> float:
    status = Path("/proc/self/status").read_text()
    return next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")) / 1024


def test_a_step_reports_its_own_peak_rss_not_the_harness_peak():
    # This process peaks 400 MB above where it is now (as generating a large dataset makes the harness); a bare
    # interpreter peaks at about 10 MB. A child starts from its parent's current RSS at fork, so it may report
    # up to that; without the reset, Linux reports it at the parent's peak, 400 MB more.
    ballast = bytearray(400 * 1024 * 1024)
    ballast[::4096] = b"x" * len(range(0, len(ballast), 4096))
    del ballast
    step = harness.run_step([sys.executable, "-c", "pass"])
    assert step.peak_rss_mb < resident_mb() + 100


@pytest.mark.slow
def test_a_tiny_benchmark_run_agrees_with_its_baselines(tmp_path: Path):
    """The real harness end to end at a tiny size: it fails when the floor or pandas disagree with the marts."""
    command = [sys.executable, "-m", "benchmarks.harness", "--sizes", "200", "--history-days", ""]
    completed = subprocess.run(
        [*command, "--no-fixed-overhead", "--no-sparse-history", "--workers", "1", "--work", str(tmp_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    results = json.loads((tmp_path / "results.json").read_text())
    (size,) = results["sizes"]
    assert size["ingest"]["records"] == size["duckdb_raw_load"]["records"] > 0
    assert size["ingest"]["quarantined"] == 0  # clean benchmark data
    assert {"pipeline_full", "floor", "pandas"} <= size.keys()
    assert "| LLM calls |" in completed.stdout
    assert not (tmp_path / "size_200").exists()  # data is removed unless --keep


def test_a_failing_step_leaves_what_was_measured_before_it(tmp_path: Path, monkeypatch):
    def fake_step(command: list[str], env: dict[str, str] | None = None) -> harness.Step:
        if "run" in command:
            raise RuntimeError("step failed (1): tokenbooks run")
        return harness.Step(2.0, 100.0, {"records": 10, "quarantined": 0})

    monkeypatch.setattr(harness, "run_step", fake_step)
    args = argparse.Namespace(days=1, workers=1, keep=False, pandas_max=0, datasets=None)
    results: dict = {"sizes": []}
    with pytest.raises(RuntimeError, match="tokenbooks run"):
        harness.measure_size(tmp_path, 100, args, results)
    (partial,) = json.loads((tmp_path / "results.json").read_text())["incomplete_sizes"]
    assert partial["failed"] == "run"
    assert partial["ingest"] == partial["duckdb_raw_load"] == {"seconds": 2.0, "peak_rss_mb": 100.0}


def test_a_generated_dataset_is_reused_only_with_the_same_parameters_and_generator(tmp_path: Path, monkeypatch):
    out = tmp_path / "size_100"
    first = harness.make_dataset(out, 100, 1, 1)
    generated: list[dict] = []
    real_generate = harness.generate
    monkeypatch.setattr(harness, "generate", lambda *a, **k: generated.append(k) or real_generate(*a, **k))

    assert harness.make_dataset(out, 100, 1, 1) == first
    assert generated == []
    assert harness.make_dataset(out, 100, 2, 1)["days"] == 2  # other parameters: generated again
    assert len(generated) == 1
    monkeypatch.setattr(harness, "_generator_fingerprint", lambda: "a changed generator")
    assert harness.make_dataset(out, 100, 2, 1)["days"] == 2
    assert len(generated) == 2


def test_the_generator_fingerprint_reads_every_module_generation_imports():
    # the harness imported the generator, and with it every module that generation runs
    imported = {Path(m.__file__) for name, m in sys.modules.items() if name.startswith("sample_platform.")}
    assert Path(harness.generate.__code__.co_filename) in imported
    assert imported <= set(harness.generator_sources())
