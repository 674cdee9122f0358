"""Real dbt runs on a real DuckDB file, fed by the real loader from the tiny hand-built landing data.

Each test module gets its own copy of the dbt project and price seeds in a temporary directory, so dbt's
target/ and logs/ stay out of the repository and a test may add a price row without touching the seed.
"""

from __future__ import annotations

import csv
import json
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest
from dbt.cli.main import dbtRunner, dbtRunnerResult

from ingestion.load import LoadResult, load_landing

REPO = Path(__file__).resolve().parents[2]
TINY_LANDING = REPO / "tests" / "fixtures" / "tiny_landing"
MARTS = ("fct_llm_calls", "fct_traces", "fct_requests", "agg_org_daily")


@dataclass(frozen=True)
class DbtWorkspace:
    """A private copy of the dbt project and its seeds, building one warehouse file."""

    project_dir: Path
    warehouse: Path

    def seed_path(self, name: str) -> Path:
        """This workspace's copy of a seed file: a price in pricing_seeds/ (``provider_prices``, ``price_overrides``,
        ...) or a configuration seed in the project's seeds/<domain>/ (``alert_thresholds``, ``rate_cards``, ...)."""
        (path,) = [
            *(self.project_dir / "seeds").glob(f"*/{name}.csv"),
            *(self.project_dir.parent / "pricing_seeds").glob(f"{name}.csv"),
        ]
        return path

    def write_seed(self, name: str, rows: Sequence[dict[str, str]]) -> None:
        """Replace the rows of this workspace's copy of a seed, keeping its header (missing columns stay empty)."""
        path = self.seed_path(name)
        with path.open(newline="", encoding="utf-8") as seed:
            header = next(csv.reader(seed))
        with path.open("w", newline="", encoding="utf-8") as seed:
            writer = csv.writer(seed, lineterminator="\n")
            writer.writerow(header)
            writer.writerows([row.get(column, "") for column in header] for row in rows)

    def load(self, landing_dir: Path) -> list[LoadResult]:
        return load_landing(self.warehouse, landing_dir)

    def invoke(self, *args: str, window: tuple[datetime, datetime] | None = None) -> dbtRunnerResult:
        """Run one dbt command in-process; the event window becomes the window_start/window_end vars."""
        command = [*args, "--project-dir", str(self.project_dir), "--profiles-dir", str(self.project_dir)]
        if window is not None:
            start, end = (moment.isoformat() for moment in window)
            command += ["--vars", json.dumps({"window_start": start, "window_end": end})]
        with pytest.MonkeyPatch.context() as env:
            env.setenv("TOKENBOOKS_WAREHOUSE", str(self.warehouse))
            env.setenv("TOKENBOOKS_DBT_TARGET", "duckdb")
            return dbtRunner().invoke(command)

    def dbt(self, *args: str, window: tuple[datetime, datetime] | None = None) -> None:
        """``invoke`` that must succeed (the failing nodes are in the assertion message)."""
        result = self.invoke(*args, window=window)
        failures = [
            f"{r.node.unique_id}: {r.status} {r.message}"
            for r in (result.result or [])
            if str(r.status) not in ("success", "pass")
        ]
        assert result.success, f"dbt {' '.join(args)} failed: {result.exception or failures}"

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """Rows as dicts, through a short-lived connection (dbt needs the file to itself while it runs)."""
        con = duckdb.connect(str(self.warehouse))
        try:
            cursor = con.execute(sql, list(params))
            names = [column[0] for column in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        finally:
            con.close()

    def seed_rows(self, name: str) -> list[dict[str, str]]:
        with self.seed_path(name).open(newline="", encoding="utf-8") as seed:
            return list(csv.DictReader(seed))

    def add_price(self, seed: str = "price_overrides", **row: str) -> None:
        """Append a row to this workspace's copy of a price seed (columns not given stay empty)."""
        self.write_seed(seed, [*self.seed_rows(seed), row])

    def marts_snapshot(self, where: dict[str, str] | None = None) -> dict[str, list[dict[str, Any]]]:
        """Every mart's rows in a stable order, optionally filtered per mart by a SQL predicate."""
        snapshot = {}
        for mart in MARTS:
            predicate = (where or {}).get(mart, "true")
            snapshot[mart] = self.query(f"select * from marts.{mart} where {predicate} order by all")
        return snapshot


@pytest.fixture(scope="session")
def tiny_landing() -> Path:
    """The hand-built landing directory whose every mart number is worked out in its README."""
    return TINY_LANDING


@pytest.fixture(scope="module")
def new_workspace(tmp_path_factory: pytest.TempPathFactory) -> Callable[[], DbtWorkspace]:
    """A factory of fresh workspaces: the project (its configuration seeds included) and the price seeds copied,
    an empty warehouse path."""

    def make() -> DbtWorkspace:
        root = tmp_path_factory.mktemp("dbt")
        shutil.copytree(
            REPO / "dbt_project", root / "dbt_project", ignore=shutil.ignore_patterns("target", "logs", ".user.yml")
        )
        shutil.copytree(REPO / "pricing_seeds", root / "pricing_seeds", ignore=shutil.ignore_patterns("reference"))
        return DbtWorkspace(project_dir=root / "dbt_project", warehouse=root / "warehouse.duckdb")

    return make
