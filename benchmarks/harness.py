"""`make bench`: how tokenbooks' cost grows with data, against baselines measured in the same run.

At each size (LLM calls) it generates clean sample data (days generated in parallel), then measures on the same
files: the production ingest, DuckDB's own raw JSON load, a full `tokenbooks run` (Dagster + dbt) on a fresh
warehouse, the engine floor (DuckDB read_json + one SQL) and an idiomatic pandas script (up to --pandas-max).
The three cost-per-org-per-day results must agree before any time is reported. It also measures a tiny run
(fixed overhead) and a one-day incremental run on top of each --history-days of history.

Every step runs in its own process; its peak RSS (children included) comes from the OS (``wait4``).
Output: ``<work>/results.json`` (rewritten after every measurement) and a table on stdout. Ratios are the point:
absolute times depend on the machine. A size whose step fails stays in ``incomplete_sizes`` with what it measured
and the step that failed. When pandas fits at only one of the sizes, a size ten times smaller is added so that
pandas has a slope, compared with the pipeline's over the same sizes.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import ingestion.records
import sample_platform
import settings
from sample_platform.generator import generate

REPO = Path(__file__).resolve().parents[1]
SEEDS = REPO / "pricing_seeds"
START = date(2025, 1, 1)  # early enough for a year of history before today
LLM_SHARE_OF_SPANS = 0.32  # measured on the sample generator; used only to size datasets
SPANS_PER_ORG_PER_DAY = 1500  # keeps generated organizations mostly under the 100 requests/hour limit
AGREEMENT_TOLERANCE_USD = 1e-6
# The long, sparse history: 3 organizations over 180 days, 10 spans a day (about 300 LLM calls with seed 42).
SPARSE_HISTORY_DAYS = 180
SPARSE_SPANS_PER_DAY = 10
SPARSE_ORGS = 3
# Found from the package itself, so that moving it cannot leave the fingerprint hashing nothing. Every module:
# those generation runs, and the emulator beside them, whose changes only cost a needless regeneration.
GENERATOR_SOURCES = Path(sample_platform.__file__).parent
CONTRACT_SOURCE = Path(ingestion.records.__file__)
DATASET_STAMP = "_dataset.json"  # beside the generator's _manifest.json


@dataclass
class Step:
    seconds: float
    peak_rss_mb: float
    output: dict = field(default_factory=dict)


def reset_peak_rss() -> None:
    """Linux starts a child's peak RSS at its parent's high-water mark (kept across fork and exec), so after the
    harness itself peaked (generating 10M calls: 4 GB) every later step reported at least that. Resetting the
    harness's mark to its current RSS first (``clear_refs`` 5) keeps each step's figure its own, or at most the
    harness's current RSS (tens to hundreds of MB) for a step that needs less."""
    # Not Linux, or /proc read-only: figures may then include the harness's own peak.
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def run_step(command: list[str], env: dict[str, str] | None = None) -> Step:
    """Run one step in a child process; its wall time and peak RSS (its own or its children's, the larger)."""
    reset_peak_rss()
    started = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, cwd=REPO, env={**os.environ, **(env or {})})
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"step failed ({proc.returncode}): {' '.join(command)}")
    text = out.decode().strip().splitlines()
    try:
        output = json.loads(text[-1]) if text else {}
    except json.JSONDecodeError:
        output = {}
    return Step(seconds, usage.ru_maxrss / 1024, output)


def python_step(*args: str) -> list[str]:
    return [sys.executable, "-m", "benchmarks.steps", *args]


def tokenbooks(*args: str) -> list[str]:
    return [sys.executable, "-m", "cli", *args]


def make_dataset(
    out: Path, llm_calls: int, days: int, workers: int, *, spans_per_day: int | None = None, orgs: int | None = None
) -> dict:
    """Generates a clean dataset into ``out``, or reuses the one there when it was generated with the same
    parameters by the same generator code (generation is deterministic). ``spans_per_day`` and ``orgs`` are
    derived from ``llm_calls`` unless given."""
    spans_per_day = spans_per_day or max(20, math.ceil(llm_calls / days / LLM_SHARE_OF_SPANS))
    orgs = orgs or max(3, spans_per_day // SPANS_PER_ORG_PER_DAY)
    parameters = {"orgs": orgs, "days": days, "start": START, "seed": 42, "spans_per_day": spans_per_day}
    recipe = {**parameters, "start": START.isoformat(), "generator": _generator_fingerprint()}
    stamp = out / DATASET_STAMP
    if stamp.exists() and (stored := json.loads(stamp.read_text()))["recipe"] == recipe:
        return stored["dataset"]
    shutil.rmtree(out, ignore_errors=True)
    summary = generate(out, **parameters, dirt_rate=0.0, workers=workers)
    size = sum(p.stat().st_size for p in summary.files)
    dataset = {"llm_calls": summary.manifest["features"]["llm_calls"], "bytes": size, "orgs": orgs, "days": days}
    stamp.write_text(json.dumps({"recipe": recipe, "dataset": dataset}))  # last: its presence means complete
    return dataset


def generator_sources() -> list[Path]:
    """The sample platform's modules, and the contract they build records from."""
    return [*sorted(GENERATOR_SOURCES.glob("*.py")), CONTRACT_SOURCE]


def _generator_fingerprint() -> str:
    digest = hashlib.sha256()
    for source in generator_sources():
        digest.update(source.read_bytes())
    return digest.hexdigest()


def landing_folder(folder: Path, args: argparse.Namespace) -> Path:
    """Where a measurement's generated data goes: inside its scratch folder, or kept under --datasets."""
    return args.datasets / folder.name if args.datasets else folder / "landing"


def run_env(work: Path, name: str) -> dict[str, str]:
    home = work / f"dagster_home_{name}"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    return {"DAGSTER_HOME": str(home), "TOKENBOOKS_PARTITIONS_START": START.isoformat()}


def agree(name: str, a: list, b: list) -> None:
    left = {(org, day): cost for org, day, cost in a}
    right = {(org, day): cost for org, day, cost in b}
    if left.keys() != right.keys():
        raise AssertionError(f"{name}: different org-days: {sorted(left.keys() ^ right.keys())[:5]}")
    worst = max((abs(left[k] - right[k]) for k in left), default=0.0)
    if worst > AGREEMENT_TOLERANCE_USD:
        raise AssertionError(f"{name}: cost per org per day differs by up to ${worst:.9f}")


def progress(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)


def save(work: Path, results: dict) -> None:
    """Results so far, rewritten after every measurement: a run cut short still leaves what it measured."""
    (work / "results.json").write_text(json.dumps(results, indent=2) + "\n")


def measure_size(work: Path, llm_calls: int, args: argparse.Namespace, results: dict) -> dict:
    """Every measurement of one size; what a failing step leaves measured is saved in ``results`` first."""
    folder = work / f"size_{llm_calls}"
    landing = landing_folder(folder, args)
    progress(f"{llm_calls:,} LLM calls: generating")
    data = make_dataset(landing, llm_calls, args.days, args.workers)
    partial: dict = {**data, "failed": "ingest"}  # the step not measured yet
    results.setdefault("incomplete_sizes", []).append(partial)
    progress(f"{llm_calls:,} LLM calls: {data['bytes'] / 1e6:,.0f} MB; ingest")
    ingest = run_step(python_step("ingest", str(landing), str(folder / "ingest.duckdb")))
    (folder / "ingest.duckdb").unlink(missing_ok=True)
    partial |= {"ingest": {"seconds": ingest.seconds, "peak_rss_mb": ingest.peak_rss_mb}, "failed": "raw load"}
    save(work, results)
    progress(f"{llm_calls:,} LLM calls: DuckDB raw load")
    rawload = run_step(python_step("rawload", str(landing), str(folder / "rawload.duckdb")))
    (folder / "rawload.duckdb").unlink(missing_ok=True)
    partial |= {"duckdb_raw_load": {"seconds": rawload.seconds, "peak_rss_mb": rawload.peak_rss_mb}, "failed": "run"}
    save(work, results)
    progress(f"{llm_calls:,} LLM calls: full run")
    warehouse = folder / "pipeline.duckdb"
    pipeline = run_step(tokenbooks("run", "--landing", str(landing), "--warehouse", str(warehouse)), run_env(work, "x"))
    pipeline_costs = run_step(python_step("pipeline-costs", str(warehouse))).output["costs"]
    progress(f"{llm_calls:,} LLM calls: floor")
    floor = run_step(python_step("floor", str(landing), str(SEEDS)))
    agree("floor vs pipeline", floor.output["costs"], pipeline_costs)
    result = {
        **data,
        "ingest": {
            "seconds": ingest.seconds,
            "peak_rss_mb": ingest.peak_rss_mb,
            "records": ingest.output["records"],
            "quarantined": ingest.output["quarantined"],
        },
        "duckdb_raw_load": {
            "seconds": rawload.seconds,
            "peak_rss_mb": rawload.peak_rss_mb,
            "records": rawload.output["records"],
        },
        "pipeline_full": {"seconds": pipeline.seconds, "peak_rss_mb": pipeline.peak_rss_mb},
        "floor": {"seconds": floor.output["total_s"], "peak_rss_mb": floor.peak_rss_mb},
    }
    if llm_calls <= args.pandas_max:
        progress(f"{llm_calls:,} LLM calls: pandas")
        pandas = run_step(python_step("pandas", str(landing), str(SEEDS)))
        agree("pandas vs pipeline", pandas.output["costs"], pipeline_costs)
        result["pandas"] = {"seconds": pandas.output["total_s"], "peak_rss_mb": pandas.peak_rss_mb}
    if not args.keep:
        shutil.rmtree(folder, ignore_errors=True)
    results["incomplete_sizes"].remove(partial)
    return result


def measure_incremental(work: Path, history_days: int, daily_calls: int, args: argparse.Namespace) -> dict:
    folder = work / f"history_{history_days}"
    landing = landing_folder(folder, args)
    progress(f"incremental on {history_days} days of history: generating and building the history")
    make_dataset(landing, daily_calls * (history_days + 1), history_days + 1, args.workers)
    warehouse = str(folder / "w.duckdb")
    env = run_env(work, f"h{history_days}")
    new_day = START + timedelta(days=history_days)

    def run_window(start: date, end: date) -> Step:
        command = tokenbooks("run", "--landing", str(landing), "--warehouse", warehouse)
        return run_step([*command, "--start", str(start), "--end", str(end)], env)

    run_window(START, new_day)
    progress(f"incremental on {history_days} days of history: one new day")
    step = run_window(new_day, new_day + timedelta(days=1))
    if not args.keep:
        shutil.rmtree(folder, ignore_errors=True)
    return {
        "history_days": history_days,
        "daily_llm_calls": daily_calls,
        "seconds": step.seconds,
        "peak_rss_mb": step.peak_rss_mb,
    }


def measure_sparse_history(work: Path, args: argparse.Namespace) -> dict:
    """A user's first backfill of a long, quiet history: about 300 LLM calls (with their requests, feedback and
    rate-limit events) over 180 days, loaded with one ``tokenbooks run`` on a fresh warehouse and instance."""
    folder = work / "sparse_history"
    landing = landing_folder(folder, args)
    progress(f"sparse history: {SPARSE_HISTORY_DAYS} days, one run")
    dataset = make_dataset(
        landing, 0, SPARSE_HISTORY_DAYS, args.workers, spans_per_day=SPARSE_SPANS_PER_DAY, orgs=SPARSE_ORGS
    )
    warehouse = folder / "w.duckdb"
    warehouse.unlink(missing_ok=True)
    end = START + timedelta(days=SPARSE_HISTORY_DAYS)
    command = tokenbooks("run", "--landing", str(landing), "--warehouse", str(warehouse))
    step = run_step([*command, "--start", str(START), "--end", str(end)], run_env(work, "sparse"))
    if not args.keep:
        shutil.rmtree(folder, ignore_errors=True)
    return {**dataset, "seconds": step.seconds, "peak_rss_mb": step.peak_rss_mb}


def slope_per_million(sizes: list[dict], key: str, span: tuple[int, int] | None = None) -> float | None:
    """Seconds per million LLM calls between the smallest and the largest size the step ran at (or ``span``)."""
    points = sorted((s["llm_calls"], s[key]["seconds"]) for s in sizes if key in s)
    if span is not None:
        points = [p for p in points if p[0] in span]
    if len(points) < 2 or points[-1][0] == points[0][0]:
        return None
    return (points[-1][1] - points[0][1]) / (points[-1][0] - points[0][0]) * 1e6


def ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None or b == 0 else a / b


def summarize(results: dict) -> dict:
    """The figures the benchmark is for; those whose measurements are missing are None."""
    sizes = sorted(results.get("sizes", []), key=lambda s: s["llm_calls"])
    slopes = {k: slope_per_million(sizes, k) for k in ("pipeline_full", "floor", "pandas", "ingest")}
    # pandas does not fit in memory at the largest sizes: compare it with the pipeline over the sizes it ran at
    pandas_sizes = [s["llm_calls"] for s in sizes if "pandas" in s]
    pandas_span = (pandas_sizes[0], pandas_sizes[-1]) if len(pandas_sizes) > 1 else None
    pipeline_on_pandas_span = slope_per_million(sizes, "pipeline_full", pandas_span) if pandas_span else None
    incremental = {r["history_days"]: r["seconds"] for r in results.get("incremental", [])}
    histories = sorted(incremental)
    summary: dict = {
        "fixed_overhead_s": results.get("fixed_overhead", {}).get("seconds"),
        "sparse_history_s": results.get("sparse_history", {}).get("seconds"),
        "slope_s_per_million_calls": slopes,
        "pipeline_slope_over_floor_slope": ratio(slopes["pipeline_full"], slopes["floor"]),
        "pandas_slope_over_pipeline_slope": ratio(slopes["pandas"], pipeline_on_pandas_span),
        "pandas_compared_between_calls": list(pandas_span) if pandas_span else None,
        "incremental_longest_over_shortest_history": ratio(incremental[histories[-1]], incremental[histories[0]])
        if len(histories) > 1
        else None,
    }
    if sizes:
        largest = sizes[-1]
        ingest, raw = largest["ingest"], largest["duckdb_raw_load"]
        summary |= {
            "ingest_rate_records_per_s": ingest["records"] / ingest["seconds"],
            "ingest_rate_mb_per_s": largest["bytes"] / 1e6 / ingest["seconds"],
            "duckdb_raw_load_rate_records_per_s": raw["records"] / raw["seconds"],
            "ingest_rate_over_raw_load_rate": (ingest["records"] / ingest["seconds"])
            / (raw["records"] / raw["seconds"]),
            "peak_rss_mb_largest": max(largest[k]["peak_rss_mb"] for k in ("ingest", "pipeline_full")),
        }
    return summary


def table(results: dict) -> str:
    def fmt(value: float | None, digits: int = 2) -> str:
        return "n/a" if value is None else f"{value:,.{digits}f}"

    lines = [
        "| LLM calls | data MB | ingest s | raw load s | full run s | floor s | pandas s | peak RSS MB |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for s in results["sizes"]:
        rss = max(s[k]["peak_rss_mb"] for k in ("ingest", "pipeline_full", "floor", "pandas") if k in s)
        lines.append(
            f"| {s['llm_calls']:,} | {s['bytes'] / 1e6:,.0f} | {fmt(s['ingest']['seconds'])} | "
            f"{fmt(s['duckdb_raw_load']['seconds'])} | {fmt(s['pipeline_full']['seconds'])} | "
            f"{fmt(s['floor']['seconds'])} | {fmt(s.get('pandas', {}).get('seconds'))} | {fmt(rss, 0)} |"
        )
    lines.append("")
    for r in results["incremental"]:
        lines.append(
            f"- incremental day on {r['history_days']} days of history ({r['daily_llm_calls']:,} calls/day): "
            f"{fmt(r['seconds'])} s, peak RSS {fmt(r['peak_rss_mb'], 0)} MB"
        )
    if "sparse_history" in results:
        sparse = results["sparse_history"]
        lines.append(
            f"- sparse history: {sparse['llm_calls']:,} LLM calls over {sparse['days']} days in one run: "
            f"{fmt(sparse['seconds'])} s, peak RSS {fmt(sparse['peak_rss_mb'], 0)} MB"
        )
    for key, value in results["summary"].items():
        if isinstance(value, dict):
            value = {k: None if v is None else round(v, 3) for k, v in value.items()}
        lines.append(f"- {key}: {json.dumps(value) if isinstance(value, dict | list) else fmt(value, 3)}")
    return "\n".join(lines)


def _int_list(text: str) -> list[int]:
    return sorted(int(part) for part in text.split(",") if part.strip())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.harness", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="20000,100000", help="LLM calls per dataset, comma separated")
    parser.add_argument("--days", type=int, default=30, help="days each size is spread over")
    parser.add_argument(
        "--history-days", default="30,365", help="histories for the incremental measurement ('' for none)"
    )
    parser.add_argument("--daily-calls", type=int, default=3000, help="LLM calls per day for incremental runs")
    parser.add_argument("--pandas-max", type=int, default=2_000_000, help="largest size pandas is run at")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="processes generating data")
    parser.add_argument("--work", type=Path, default=REPO / "bench_out", help="scratch and output directory")
    parser.add_argument("--keep", action="store_true", help="keep generated data and warehouses")
    parser.add_argument(
        "--datasets",
        type=Path,
        help="keep generated datasets here and reuse them in later runs (regenerated when their parameters change)",
    )
    parser.add_argument(
        "--memory-limit",
        default="3GB",
        help="TOKENBOOKS_DUCKDB_MEMORY_LIMIT for every DuckDB step (pipeline, ingest, raw load, floor alike)",
    )
    parser.add_argument(
        "--fixed-overhead", action=argparse.BooleanOptionalAction, default=True, help="measure a tiny run first"
    )
    parser.add_argument(
        "--sparse-history",
        action=argparse.BooleanOptionalAction,
        default=True,
        help=f"measure one run over a sparse history of {SPARSE_HISTORY_DAYS} days",
    )
    args = parser.parse_args(argv)
    sizes = _int_list(args.sizes)
    if len([s for s in sizes if s <= args.pandas_max]) == 1 and len(sizes) > 1:
        # pandas fits at one size only: one more, ten times smaller, gives it (and the pipeline there) a slope
        sizes.insert(0, max(100, sizes[0] // 10))
    histories = _int_list(args.history_days)
    args.work.mkdir(parents=True, exist_ok=True)
    settings.override(duckdb_memory_limit=args.memory_limit)  # this process and, inherited, every step

    results: dict = {
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        },
        "arguments": {k: str(v) for k, v in vars(args).items()},
        "sizes": [],
        "incremental": [],
    }
    # dbt parses a changed project once (a deployment does it at build time): not part of any run's cost
    run_step(python_step("parse"))
    if args.fixed_overhead:
        progress("fixed overhead: a tiny run end to end")
        tiny = args.work / "tiny"
        make_dataset(tiny / "landing", 100, 1, 1)
        overhead = run_step(
            tokenbooks("run", "--landing", str(tiny / "landing"), "--warehouse", str(tiny / "w.duckdb")),
            run_env(args.work, "tiny"),
        )
        shutil.rmtree(tiny, ignore_errors=True)
        results["fixed_overhead"] = {"seconds": overhead.seconds, "peak_rss_mb": overhead.peak_rss_mb}
        save(args.work, results)
    if args.sparse_history:
        results["sparse_history"] = measure_sparse_history(args.work, args)
        save(args.work, results)
    # incremental first, then sizes ascending: a run stopped during the largest size keeps everything else
    for history in histories:
        results["incremental"].append(measure_incremental(args.work, history, args.daily_calls, args))
        save(args.work, results)
    for size in sizes:
        results["sizes"].append(measure_size(args.work, size, args, results))
        results["summary"] = summarize(results)
        save(args.work, results)
    results["summary"] = summarize(results)
    save(args.work, results)
    print(table(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
