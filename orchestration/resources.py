"""Settings and resources: where the warehouse is, where records come from, and the dbt project.

Every setting comes from the environment; the ``tokenbooks`` CLI flags set the same variables, so a run from
the CLI and a run from the Dagster UI resolve settings the same way.

=============================  =====================================================================
``TOKENBOOKS_WAREHOUSE``       DuckDB file of the warehouse (default ``data/warehouse.duckdb``,
                               relative to the working directory)
``TOKENBOOKS_LANDING_DIR``     landing directory of JSONL files            } exactly one of these two
``TOKENBOOKS_API_URL``         base URL of the platform's analytics API    } (key: ``TOKENBOOKS_API_KEY``)
``TOKENBOOKS_LOOKBACK_HOURS``  hours before a partition's start that are fetched again, so records that
                               became visible late are picked up (default 48)
``TOKENBOOKS_DBT_TARGET``      target in ``dbt_project/profiles.yml`` (default ``duckdb``)
=============================  =====================================================================
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import dagster as dg
from dagster_dbt import DbtCliResource, DbtProject

from ingestion.sources import ConfigError, Source, source_from_settings

WAREHOUSE_ENV = "TOKENBOOKS_WAREHOUSE"
DEFAULT_WAREHOUSE = "data/warehouse.duckdb"
LANDING_DIR_ENV = "TOKENBOOKS_LANDING_DIR"
API_URL_ENV = "TOKENBOOKS_API_URL"
LOOKBACK_HOURS_ENV = "TOKENBOOKS_LOOKBACK_HOURS"
DEFAULT_LOOKBACK_HOURS = 48
DBT_TARGET_ENV = "TOKENBOOKS_DBT_TARGET"
DEFAULT_DBT_TARGET = "duckdb"

DBT_PROJECT_DIR = Path(__file__).resolve().parent.parent / "dbt_project"
# dbt reads these besides its own project folder (seed-paths in dbt_project.yml).
DBT_EXTRA_SOURCE_DIRS = (DBT_PROJECT_DIR.parent / "pricing_seeds",)
DBT_GENERATED_DIRS = ("target", "logs", "dbt_packages")


def warehouse_path(configured: str | None = None) -> Path:
    """The warehouse file as an absolute path (dbt runs in its project folder, so relative paths would differ)."""
    value = configured or os.environ.get(WAREHOUSE_ENV) or DEFAULT_WAREHOUSE
    path = Path(value).expanduser().absolute()
    if path.is_dir():
        raise ConfigError(f"{WAREHOUSE_ENV} / --warehouse: expected a DuckDB file path, got the directory {path}")
    return path


@contextmanager
def warehouse_env_for_dbt(path: Path) -> Iterator[None]:
    """dbt's profile reads the warehouse from the environment (even to parse): point it at ``path``, the
    file the loader writes, while dbt runs."""
    previous = os.environ.get(WAREHOUSE_ENV)
    os.environ[WAREHOUSE_ENV] = str(path)
    try:
        yield
    finally:
        if previous is None:
            del os.environ[WAREHOUSE_ENV]
        else:
            os.environ[WAREHOUSE_ENV] = previous


def lookback() -> timedelta:
    value = os.environ.get(LOOKBACK_HOURS_ENV) or str(DEFAULT_LOOKBACK_HOURS)
    if not value.isdigit():
        raise ConfigError(f"{LOOKBACK_HOURS_ENV}: expected a whole number of hours (0 or more), got {value!r}")
    return timedelta(hours=int(value))


def dbt_target() -> str:
    return os.environ.get(DBT_TARGET_ENV) or DEFAULT_DBT_TARGET


def dbt_executable() -> str:
    """The dbt installed beside this Python (a virtualenv need not be activated), else the one on PATH."""
    beside_python = Path(sys.executable).with_name("dbt")
    return str(beside_python) if beside_python.exists() else shutil.which("dbt") or "dbt"


class WarehouseResource(dg.ConfigurableResource):
    """The DuckDB warehouse file: the loader writes ``raw.*`` into it, dbt builds the marts in it."""

    path: str | None = None  # unset: TOKENBOOKS_WAREHOUSE, else data/warehouse.duckdb

    def resolved_path(self) -> Path:
        return warehouse_path(self.path)


class PlatformSourceResource(dg.ConfigurableResource):
    """Where platform records come from: a landing directory or the analytics API (exactly one)."""

    landing_dir: str | None = None  # unset (with api_url): TOKENBOOKS_LANDING_DIR
    api_url: str | None = None  # unset (with landing_dir): TOKENBOOKS_API_URL

    def open(self) -> Source:
        if self.landing_dir or self.api_url:
            return source_from_settings(self.landing_dir, self.api_url)
        return source_from_settings(os.environ.get(LANDING_DIR_ENV), os.environ.get(API_URL_ENV))


tokenbooks_dbt = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR, target=dbt_target())


def _newest_source_mtime() -> float:
    newest = 0.0
    for root in (DBT_PROJECT_DIR, *DBT_EXTRA_SOURCE_DIRS):
        for path in root.rglob("*"):
            relative = path.relative_to(root).parts
            # generated folders and dot files (dbt's .user.yml, linter settings) do not change the manifest
            if path.is_file() and relative[0] not in DBT_GENERATED_DIRS and not path.name.startswith("."):
                newest = max(newest, path.stat().st_mtime)
    return newest


def manifest_is_stale() -> bool:
    manifest = tokenbooks_dbt.manifest_path
    return not manifest.exists() or manifest.stat().st_mtime < _newest_source_mtime()


def dbt_resource() -> DbtCliResource:
    return DbtCliResource(project_dir=tokenbooks_dbt, dbt_executable=dbt_executable())


def parse_dbt_project() -> Path:
    """``dbt parse`` with the same executable, target and environment as the dbt assets."""
    with warehouse_env_for_dbt(warehouse_path()):
        dbt_resource().cli(["parse", "--quiet"], target_path=tokenbooks_dbt.target_path).wait()
    return tokenbooks_dbt.manifest_path


def prepare_dbt_manifest() -> Path:
    """Parse the dbt project when its manifest is missing or older than the project files.

    The CLI and the tests call this before loading the Definitions; deployments call ``parse_dbt_project``
    once at build time.
    """
    return parse_dbt_project() if manifest_is_stale() else tokenbooks_dbt.manifest_path


def prepare_dbt_manifest_if_dev() -> None:
    """Under ``dagster dev`` (what ``DbtProject.prepare_if_dev`` checks), parse on every code reload so
    edits show up at once. Parsing here rather than through ``prepare_if_dev`` uses the dbt beside this
    Python, found even when the virtualenv is not activated."""
    if tokenbooks_dbt.preparer.using_dagster_dev():
        parse_dbt_project()


def build_resources() -> dict[str, object]:
    return {"warehouse": WarehouseResource(), "platform": PlatformSourceResource(), "dbt": dbt_resource()}
