"""One benchmark step per process, so the harness can read each step's peak memory (RSS) from the OS.

Each subcommand prints one JSON object on stdout:

    python -m benchmarks.steps ingest LANDING WAREHOUSE     # the production loader, all endpoints
    python -m benchmarks.steps rawload LANDING WAREHOUSE    # DuckDB read_json of every endpoint, nothing else
    python -m benchmarks.steps floor LANDING SEEDS          # engine floor: cost per org per day
    python -m benchmarks.steps pandas LANDING SEEDS         # what a user would write with pandas
    python -m benchmarks.steps pipeline-costs WAREHOUSE     # the pipeline's cost per org per day, from the marts
    python -m benchmarks.steps parse                        # dbt's manifest, parsed once as a deployment does
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from benchmarks.baselines import floor, pandas_costs
from ingestion.load import load_landing
from ingestion.records import ENDPOINTS
from warehouse import connect


def _costs_json(costs: dict[tuple[str, str], float]) -> list[list[object]]:
    return [[org, day, cost] for (org, day), cost in sorted(costs.items())]


def ingest(landing: Path, warehouse: Path) -> dict[str, object]:
    started = time.perf_counter()
    results = load_landing(warehouse, landing)
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "records": sum(r.fetched for r in results),
        "loaded": sum(r.loaded for r in results),
        "quarantined": sum(r.quarantined for r in results),
    }


def rawload(landing: Path, warehouse: Path) -> dict[str, object]:
    """DuckDB's own JSON reader loading every endpoint folder into a table of a DuckDB file (as the ingest
    writes to one): the raw load rate to compare with."""
    con = connect(warehouse)
    started = time.perf_counter()
    records = 0
    for endpoint in ENDPOINTS.values():
        files = sorted((landing / endpoint.name).glob("*.jsonl"))
        if not files:
            continue
        file_list = "[" + ", ".join(f"'{f}'" for f in files) + "]"
        con.execute(
            f"create table {endpoint.table} as select * from read_json({file_list}, format = 'newline_delimited', "
            "union_by_name = true, ignore_errors = true)"
        )
        records += con.execute(f"select count(*) from {endpoint.table}").fetchone()[0]
    con.execute("checkpoint")
    return {"seconds": time.perf_counter() - started, "records": records}


def pipeline_costs(warehouse: Path) -> dict[str, object]:
    con = connect(warehouse)
    try:
        rows = con.execute(
            "select organization_id, cast(cast(started_at as date) as varchar), cast(sum(cost_usd) as double) "
            "from marts.fct_llm_calls where cost_usd is not null group by all order by 1, 2"
        ).fetchall()
    finally:
        con.close()
    return {"costs": [list(r) for r in rows]}


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    command, paths = args[0], [Path(a) for a in args[1:]]
    if command == "ingest":
        result = ingest(*paths)
    elif command == "rawload":
        result = rawload(*paths)
    elif command == "parse":
        from orchestration.resources import prepare_dbt_manifest

        result = {"manifest": str(prepare_dbt_manifest())}
    elif command == "pipeline-costs":
        result = pipeline_costs(*paths)
    elif command in ("floor", "pandas"):
        costs, timings = (floor if command == "floor" else pandas_costs)(*paths)
        result = {**timings, "costs": _costs_json(costs)}
    else:
        raise SystemExit(f"unknown step {command!r}")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
