"""The sample and the uninterrupted landing run that the end-to-end modules check and compare against (each
module that asks for them gets its own)."""

import json
from pathlib import Path

import pytest
from e2e_runs import query, run_cli, tables


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
