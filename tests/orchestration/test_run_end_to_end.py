"""`tokenbooks run` end to end: a generated sample, real loads, real dbt on DuckDB, a real Dagster instance.

One module-scoped landing run is checked against the raw data and the generator's manifest, then run again
(nothing may change), then the same sample is served by the platform emulator with injected 5xx, 429s and
timeouts and loaded through ``--api-url``: the tables must come out the same. Runs of the same sample killed
at several moments are in ``test_run_killed.py``.
"""

import itertools
import time
from collections import Counter

import dagster as dg
import pytest
from e2e_runs import query, run_cli, scalar, tables

from cli import main
from ingestion.records import ENDPOINTS
from orchestration.partitions import daily_partitions
from sample_platform.emulator import PlatformEmulator, running_emulator

pytestmark = pytest.mark.slow

DAYS = ["2026-03-01", "2026-03-02", "2026-03-03"]
WINDOW_ARGS = ["--start", "2026-03-01", "--end", "2026-03-04"]
INGESTION_STEPS = ["raw__feedback", "raw__keys", "raw__logs", "raw__organizations", "raw__rate_limits", "raw__traces"]
STEPS = [*INGESTION_STEPS, "dbt_models"]
API_KEY = "e2e-test-key"

# Lines that are not JSON objects cannot be served by an API; everything else must be quarantined alike.
NOT_RECORDS = ("malformed JSON", "not a JSON object")


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


def test_the_run_is_recorded_in_the_dagster_instance_with_every_partition(landing_run):
    _, out, _, _ = landing_run
    (run_id,) = [line.split()[1] for line in out.splitlines() if line.startswith("run ") and "succeeded" in line]
    with dg.DagsterInstance.get() as instance:
        run = instance.get_run_by_id(run_id)
        statuses = {
            key.to_user_string(): instance.get_status_by_partition(key, DAYS, daily_partitions)
            for key in (dg.AssetKey(["raw", "logs"]), dg.AssetKey(["marts", "fct_llm_calls"]))
        }

    assert run.status == dg.DagsterRunStatus.SUCCESS
    assert run.tags["dagster/asset_partition_range_start"] == "2026-03-01"
    assert run.tags["dagster/asset_partition_range_end"] == "2026-03-03"
    for key, status in statuses.items():
        assert status == dict.fromkeys(DAYS, dg.AssetPartitionStatus.MATERIALIZED), key


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
