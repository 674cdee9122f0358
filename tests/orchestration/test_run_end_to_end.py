"""`tokenbooks run` end to end: a generated sample, real loads, real dbt on DuckDB, a real Dagster instance.

One module-scoped landing run is checked against the raw data and the generator's manifest, then run again
(nothing may change), then the same sample is served by the platform emulator with injected 5xx, 429s and
timeouts and loaded through ``--api-url``: the tables must come out the same. Last, runs of the same sample are
killed with SIGKILL at several moments, each followed by a run that must recover and go on, until one completes
with the tables of the uninterrupted run.
"""

import contextlib
import io
import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from cli import main
from ingestion.records import ENDPOINTS
from orchestration.partitions import daily_partitions
from orchestration.resources import DBT_PROJECT_DIR
from orchestration.run_recovery import Slot, pool_claims
from sample_platform.emulator import PlatformEmulator, running_emulator

pytestmark = pytest.mark.slow

DAYS = ["2026-03-01", "2026-03-02", "2026-03-03"]
WINDOW_ARGS = ["--start", "2026-03-01", "--end", "2026-03-04"]
INGESTION_STEPS = ["raw__feedback", "raw__keys", "raw__logs", "raw__organizations", "raw__rate_limits", "raw__traces"]
STEPS = [*INGESTION_STEPS, "dbt_models"]
API_KEY = "e2e-test-key"
# Columns saying which load brought a row, when and from where: they differ between two sources by design.
LOAD_METADATA = ("_batch_id", "_loaded_at", "_source", "_delivery_seq", "loaded_at", "batch_id")


def measured_at_build(column: str) -> bool:
    """Columns a mart measures at its build (dbt's run start, e.g. how long calls have been pending)."""
    return column == "built_at" or "_age_" in column


# Lines that are not JSON objects cannot be served by an API; everything else must be quarantined alike.
NOT_RECORDS = ("malformed JSON", "not a JSON object")


def run_cli(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def settings(tmp_path_factory, env_patch):
    """A private DAGSTER_HOME, and no source or warehouse settings leaking in from the environment."""
    with env_patch() as patch:
        patch.setenv("DAGSTER_HOME", str(tmp_path_factory.mktemp("dagster_home")))
        for name in ("WAREHOUSE", "LANDING_DIR", "API_URL", "LOOKBACK_HOURS"):
            patch.delenv(f"TOKENBOOKS_{name}", raising=False)
        yield patch


@pytest.fixture(scope="module")
def sample(settings, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sample")
    code, printed, _ = run_cli(
        "sample", "generate", "--out", str(out), "--orgs", "3", "--days", "3", "--start", "2026-03-01",
        "--seed", "5", "--spans-per-day", "150", "--dirt-rate", "0.05",
    )  # fmt: skip
    assert code == 0, printed
    return out


@pytest.fixture(scope="module")
def manifest(sample) -> dict:
    return json.loads((sample / "_manifest.json").read_text())


@pytest.fixture(scope="module")
def landing_run(settings, sample, tmp_path_factory):
    warehouse = tmp_path_factory.mktemp("landing") / "warehouse.duckdb"
    code, out, err = run_cli("run", "--landing", str(sample), "--warehouse", str(warehouse))
    assert code == 0, out + err
    counted = dict(query(warehouse, "select endpoint, sum(quarantined) from raw.load_batches group by endpoint"))
    return warehouse, out, tables(warehouse), counted


def query(warehouse: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


def scalar(warehouse: Path, sql: str):
    return query(warehouse, sql)[0][0]


def tables(warehouse: Path) -> dict[str, list[tuple]]:
    """Every raw and mart table's rows (sorted), without the load bookkeeping (batches, files, columns)."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        names = con.execute(
            "select table_schema || '.' || table_name from information_schema.tables "
            "where table_schema in ('raw', 'marts') and table_name not in ('load_batches', 'landing_files') order by 1"
        ).fetchall()
        found = {}
        for (name,) in names:
            schema, table = name.split(".")
            columns = [
                column
                for (column,) in con.execute(
                    "select column_name from information_schema.columns where table_schema = ? and table_name = ? "
                    "order by ordinal_position",
                    [schema, table],
                ).fetchall()
                if column not in LOAD_METADATA and not measured_at_build(column)
            ]
            select = ", ".join(f'"{column}"' for column in columns)
            found[name] = con.execute(f"select {select} from {name} order by all").fetchall()
    return found


def latest(table: str, id_column: str) -> str:
    """The winning version of each event record (the contract: the latest delivery wins)."""
    return (
        f"(select * from raw.{table} qualify row_number() over "
        f"(partition by {id_column} order by _delivery_seq desc) = 1)"
    )


def test_landing_run_shows_one_line_per_step_start_and_end(landing_run):
    _, out, _, _ = landing_run
    lines = out.splitlines()

    for step in STEPS:
        assert sum(f"] {step} " in line and line.endswith(" started") for line in lines) == 1, step
        assert sum(f"] {step} " in line and " done in " in line for line in lines) == 1, step
    assert " FAILED after " not in out
    assert out.startswith("tokenbooks run: [2026-03-01, 2026-03-04) (3 day(s)) from landing:")


def test_raw_tables_hold_each_distinct_version_once_and_quarantine_the_rest(landing_run, manifest):
    warehouse, out, _, quarantined = landing_run

    for name, endpoint in ENDPOINTS.items():
        expected = manifest["endpoints"][name]
        assert scalar(warehouse, f"select count(*) from raw.{endpoint.table}") == expected["distinct_versions"], name
        assert f"  raw.{endpoint.table}".ljust(19) + f"  {expected['distinct_versions']}" in out, name
        assert quarantined.get(name, 0) == expected["malformed"] + expected["invalid"], name
    # identical bad lines are kept once
    assert scalar(warehouse, "select count(*) from raw.quarantine where endpoint = 'logs'") == 10


def test_marts_agree_with_the_raw_tables(landing_run):
    warehouse, out, _, _ = landing_run
    llm_spans = f"{latest('traces', 'span_id')} where kind = 'llm'"

    calls = scalar(warehouse, f"select count(*) from {llm_spans}")
    assert calls > 0
    assert scalar(warehouse, "select count(*) from marts.fct_llm_calls") == calls
    assert scalar(warehouse, "select sum(llm_calls) from marts.agg_org_daily") == calls
    assert scalar(warehouse, "select sum(cost_usd) from marts.agg_org_daily") == scalar(
        warehouse, "select sum(cost_usd) from marts.fct_llm_calls"
    )
    requests = scalar(warehouse, f"select count(*) from {latest('logs', 'id')}")
    assert scalar(warehouse, "select count(*) from marts.fct_requests") == requests
    assert scalar(warehouse, "select sum(requests) from marts.agg_org_daily") == requests
    # a model without a price and without a reported cost stays pending, and the summary says how many
    pending = query(
        warehouse,
        f"select llm__provider, llm__model, count(*) from {llm_spans} "
        "and llm__model like 'ft:%' and llm__provider_reported_cost_usd is null group by all",
    )
    assert (
        pending
        and query(
            warehouse,
            "select provider, model, count(*) from marts.fct_llm_calls where cost_status = 'pending' group by all",
        )
        == pending
    )
    for provider, model, count in pending:
        assert any(line.split() == [provider, model, str(count)] for line in out.splitlines())


def test_the_run_is_recorded_in_the_dagster_instance_loads_per_partition_and_models_once(landing_run):
    _, out, _, _ = landing_run
    runs = {
        line.partition("(")[2].rstrip(")"): line.split()[1]
        for line in out.splitlines()
        if line.startswith("run ") and "succeeded" in line
    }
    assert list(runs) == ["loads", "dbt build"]
    loads, build = runs.values()
    with dg.DagsterInstance.get() as instance:
        load_run, build_run = instance.get_run_by_id(loads), instance.get_run_by_id(build)
        logs_status = instance.get_status_by_partition(dg.AssetKey(["raw", "logs"]), DAYS, daily_partitions)
        calls = instance.fetch_materializations(FCT_LLM_CALLS, limit=10).records
        planned_loads = instance.all_logs(loads, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED)
        planned_test_rows = instance.event_log_storage.get_asset_check_execution_history(
            dg.AssetCheckKey(FCT_LLM_CALLS, FCT_LLM_CALLS_KEY_TEST), limit=10
        )

    assert load_run.status == build_run.status == dg.DagsterRunStatus.SUCCESS
    assert load_run.tags["dagster/asset_partition_range_start"] == "2026-03-01"
    assert load_run.tags["dagster/asset_partition_range_end"] == "2026-03-03"
    assert logs_status == dict.fromkeys(DAYS, dg.AssetPartitionStatus.MATERIALIZED)
    # planned once per raw asset for its range of days (not once per day), materialized once per day
    planned = Counter(event.dagster_event.event_specific_data.asset_key.to_user_string() for event in planned_loads)
    assert planned["raw/logs"] == 1
    # the dbt run names its days without partition tags: one materialization per model, one row per test
    assert "dagster/asset_partition_range_start" not in build_run.tags
    assert (build_run.tags["tokenbooks/build_first_day"], build_run.tags["tokenbooks/build_last_day"]) == (
        "2026-03-01",
        "2026-03-03",
    )
    assert [record.run_id for record in calls] == [build]
    metadata = calls[0].asset_materialization.metadata
    assert (metadata["window_start"].value, metadata["window_end"].value) == (
        "2026-02-27T00:00:00",
        "2026-03-04T00:00:00",
    )  # 48 h lookback
    assert [(row.run_id, row.status.value) for row in planned_test_rows] == [(build, "SUCCEEDED")]
    # the build's own target folder (dagster-dbt names it after the step and the run) is gone once it succeeded
    assert not list((DBT_PROJECT_DIR / "target").glob(f"dbt_models-{build[:7]}-*"))


def test_running_the_same_window_again_changes_nothing(landing_run, sample):
    warehouse, _, before, _ = landing_run

    code, out, err = run_cli("run", "--landing", str(sample), "--warehouse", str(warehouse), *WINDOW_ARGS)

    assert code == 0, out + err
    assert tables(warehouse) == before
    with dg.DagsterInstance.get() as instance:
        event = instance.get_latest_materialization_event(dg.AssetKey(["raw", "traces"]))
    counts = {name: value.value for name, value in event.asset_materialization.metadata.items()}
    assert counts["loaded"] == 0
    assert counts["duplicates"] == counts["fetched"] - counts["quarantined"] > 0


class CountingEmulator(PlatformEmulator):
    """The real emulator, counting the answers it gave (so the test knows the faults really happened)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.answers: Counter[str] = Counter()

    def respond(self, *args, **kwargs):
        response = super().respond(*args, **kwargs)
        self.answers["late" if response.delay_seconds else str(response.status)] += 1
        return response


def stepping_clock(seconds_per_request: int):
    """The emulator's clock moves on by a fixed step at every request it counts against the rate limit, so
    429s come at the same requests however fast the machine is, and a Retry-After of 1 s ends them."""
    return itertools.count(time.time() // 3600 * 3600, seconds_per_request).__next__


def test_the_api_with_faults_gives_the_same_tables_as_the_files(landing_run, sample, monkeypatch, tmp_path):
    _, _, from_files, _ = landing_run
    for name, value in {
        "TOKENBOOKS_API_KEY": API_KEY,
        "TOKENBOOKS_API_PAGE_SIZE": "60",
        "TOKENBOOKS_API_TIMEOUT_SECONDS": "0.5",
        "TOKENBOOKS_API_BACKOFF_SECONDS": "0.01",
        "TOKENBOOKS_API_MAX_ATTEMPTS": "12",
    }.items():
        monkeypatch.setenv(name, value)
    emulator = CountingEmulator(
        sample,
        api_keys=[API_KEY],
        requests_per_hour=3,  # the 4th request of every (15-minute-step) hour gets a 429
        retry_after_seconds=1,
        error_rate=0.15,
        timeout_rate=0.05,
        timeout_seconds=1.0,
        duplicate_page_rate=0.2,
        seed=3,
        clock=stepping_clock(15 * 60),
    )
    warehouse = tmp_path / "api.duckdb"

    with running_emulator(emulator) as url:
        code, out, err = run_cli("run", "--api-url", url, "--warehouse", str(warehouse), *WINDOW_ARGS)

    assert code == 0, out + err
    assert {"429", "late"} <= set(emulator.answers) and {"500", "502", "503"} & set(emulator.answers)
    from_api = tables(warehouse)
    quarantine = "raw.quarantine"
    assert from_api.keys() == from_files.keys()
    for name in from_files.keys() - {quarantine}:
        assert from_api[name] == from_files[name], name
    # the API re-serializes records, so quarantined lines compare by endpoint, reason and id
    reasons = {(row[0], row[1], row[3]) for row in from_files[quarantine] if row[1] not in NOT_RECORDS}
    assert {(row[0], row[1], row[3]) for row in from_api[quarantine]} == reasons


def test_bad_settings_exit_with_the_setting_named(settings, tmp_path, capsys):
    code = main(["run", "--landing", str(tmp_path / "missing"), "--warehouse", str(tmp_path / "w.duckdb")])

    assert code == 2
    assert "TOKENBOOKS_LANDING_DIR / --landing: expected an existing directory" in capsys.readouterr().err


def test_a_failing_step_exits_non_zero_naming_it(settings, monkeypatch, tmp_path):
    monkeypatch.setenv("TOKENBOOKS_API_KEY", API_KEY)
    with running_emulator(PlatformEmulator(None, api_keys=["another-key"])) as url:
        code, out, err = run_cli("run", "--api-url", url, "--warehouse", str(tmp_path / "w.duckdb"), *WINDOW_ARGS)

    assert code == 1
    assert "tokenbooks run failed (failed steps: raw__feedback, raw__keys, raw__logs" in err
    assert "401" in err
    assert "dbt_models" not in out  # never started: its inputs failed
    for step in INGESTION_STEPS:
        assert any(f"] {step} " in line and " FAILED after " in line for line in out.splitlines()), step


# -- killed at any moment, resumed by the next run --------------------------------------------------------

REPO = Path(__file__).resolve().parents[2]
HOST = socket.gethostname()
FCT_LLM_CALLS = dg.AssetKey(["marts", "fct_llm_calls"])
# dbt names a generic test after its arguments: the grain (span_id) and the required columns
FCT_LLM_CALLS_KEY_TEST = (
    "unique_and_not_null_fct_llm_calls_span_id__organization_id__provider__model__cost_status__price_list_hash"
    "__started_at__call_date"
)
# `tokenbooks run` printing the loader's and the statement writer's progress (a line per committed chunk, per
# statement written), and holding still after the line that starts with its first argument, until killed.
KILLABLE_RUN = """
import logging, sys, time
pause_after, args, terminal = sys.argv[1], sys.argv[2:], sys.stdout

class Progress(logging.Handler):
    def emit(self, record):
        message = record.getMessage()
        terminal.write(message + "\\n")
        terminal.flush()
        if message.startswith(pause_after):
            time.sleep(600)

for name in ("ingestion.load", "billing.statements.writing"):
    logging.getLogger(name).setLevel(logging.INFO)
    logging.getLogger(name).addHandler(Progress())
from cli import main
sys.exit(main(args))
"""


class KillableRun:
    """``tokenbooks run`` in a process group of its own (as a terminal or a service runs it), read line by line,
    killed with its whole group (dbt included), as the out-of-memory killer or a reboot would."""

    def __init__(self, args: list[str], env: dict[str, str], pause_after: str = "(never)"):
        self.pause_after = pause_after
        self.proc = subprocess.Popen(
            [sys.executable, "-c", KILLABLE_RUN, pause_after, *args],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.lines: list[str] = []

    def read_until(self, wanted=None) -> None:
        """Read up to the first line ``wanted`` accepts (by default: the one after which the run holds still)."""
        wanted = wanted or (lambda line: line.startswith(self.pause_after))
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))
            if wanted(self.lines[-1]):
                return
        raise AssertionError(f"the run ended ({self.proc.wait()}) first:\n" + "\n".join(self.lines))

    def kill(self) -> None:
        self.stop()
        assert self.proc.returncode == -signal.SIGKILL, "\n".join(self.lines)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=60)

    def recovered(self) -> list[str]:
        return recovery_lines(self.lines)


def step_started(step: str):
    return lambda line: f"] {step} " in line and line.endswith(" started")


def recovery_lines(lines: list[str]) -> list[str]:
    return [line for line in lines if line.startswith("tokenbooks: run ")]


def recovery_line(run_id: str, job: str, pid: int, step: str) -> str:
    return (
        f"tokenbooks: run {run_id} ({job}) died with its process {pid} on {HOST}: marked it failed and freed its "
        f"duckdb pool slot (step {step})"
    )


def claims_now() -> dict[str, list[Slot]]:
    with dg.DagsterInstance.get() as instance:
        return pool_claims(instance)


def run_status(run_id: str) -> dg.DagsterRunStatus:
    with dg.DagsterInstance.get() as instance:
        return instance.get_run_by_id(run_id).status


def wait_for_materialization(key: dg.AssetKey, run_id: str, run: KillableRun) -> None:
    with dg.DagsterInstance.get() as instance:
        while (event := instance.get_latest_materialization_event(key)) is None or event.run_id != run_id:
            assert run.proc.poll() is None, "\n".join(run.lines)
            time.sleep(0.2)


def statement_files(warehouse: Path) -> dict[str, bytes]:
    root = warehouse.parent / "statements"
    return {str(path.relative_to(root)): path.read_bytes() for path in sorted(root.rglob("*")) if path.is_file()}


def test_a_run_killed_at_any_moment_is_resumed_by_the_next_run(landing_run, sample, manifest, tmp_path, monkeypatch):
    """Kills in a row on one instance and warehouse: while traces load (a chunk committed), while dbt builds (a
    mart built), while statements are written; each next run frees the dead run's slot and goes on, and the last
    one completes with the tables and statement files of the uninterrupted run (``landing_run``)."""
    baseline_warehouse, _, baseline, _ = landing_run
    assert manifest["endpoints"]["traces"]["malformed"] > 0 and manifest["endpoints"]["traces"]["invalid"] > 0
    home, warehouse = tmp_path / "dagster_home", tmp_path / "resumed" / "warehouse.duckdb"
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    run_args = ["run", "--landing", str(sample), "--warehouse", str(warehouse)]
    # one landing file per load chunk, so that a load is killed between two of its commits
    env = {**os.environ, "TOKENBOOKS_LOAD_CHUNK_BYTES": "1", "PYTHONUNBUFFERED": "1"}
    runs: list[KillableRun] = []
    try:
        # 1. killed while loading traces: its first chunk (of three files) committed
        runs.append(loading := KillableRun(run_args, env, pause_after="committed traces chunk 0"))
        loading.read_until()
        loading.kill()
        ((loading_run, slots),) = claims_now().items()
        assert slots == [Slot("duckdb", "raw__traces", held=True)]
        assert run_status(loading_run) == dg.DagsterRunStatus.STARTED  # as the kill left it

        # 2. recovers it; a third run refuses to start beside it, naming it; killed while dbt builds
        # (fct_llm_calls built, more to come)
        runs.append(building := KillableRun(run_args, env))
        building.read_until(step_started("dbt_models"))
        ((building_run, slots),) = claims_now().items()
        assert slots == [Slot("duckdb", "dbt_models", held=True)]
        code, out, err = run_cli(*run_args)
        assert code == 3 and recovery_lines(out.splitlines()) == []
        assert (
            f"\n  run {building_run} (tokenbooks_daily), running in process {building.proc.pid} on {HOST}: "
            "duckdb pool slot (step dbt_models)\n"
        ) in err
        wait_for_materialization(FCT_LLM_CALLS, building_run, building)
        building.kill()
        assert claims_now() == {building_run: [Slot("duckdb", "dbt_models", held=True)]}
        assert run_status(building_run) == dg.DagsterRunStatus.STARTED
        assert building.recovered() == [recovery_line(loading_run, "tokenbooks_daily", loading.proc.pid, "raw__traces")]

        # 3. recovers it; the daily run completes; killed while the statements are written (one of three written)
        runs.append(writing := KillableRun(run_args, env, pause_after="wrote the statement files of"))
        writing.read_until()
        writing.kill()
        ((writing_run, slots),) = claims_now().items()
        assert slots == [Slot("duckdb", "billing__statement_files", held=True)]
        assert writing.recovered() == [recovery_line(building_run, "tokenbooks_daily", building.proc.pid, "dbt_models")]
    finally:
        for run in runs:
            run.stop()

    # 4. recovers it and completes
    code, out, err = run_cli(*run_args)

    assert code == 0, out + err
    assert recovery_lines(out.splitlines()) == [
        recovery_line(writing_run, "tokenbooks_monthly_statements", writing.proc.pid, "billing__statement_files")
    ]
    assert claims_now() == {}
    for run_id in (loading_run, building_run, writing_run):
        assert run_status(run_id) == dg.DagsterRunStatus.FAILURE
    resumed = tables(warehouse)
    assert resumed.keys() == baseline.keys()
    for name in baseline:
        assert resumed[name] == baseline[name], name
    assert statement_files(warehouse) == statement_files(baseline_warehouse)
