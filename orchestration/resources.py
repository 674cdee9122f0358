"""Dagster resources: the warehouse, where records come from, and the dbt project.

Their values come from run config when a run sets them (``tokenbooks run`` does, so the UI shows them with the
run), else from ``settings`` (the environment, read once). PostgreSQL's connection and the API key come from
settings only: run config is shown in the UI.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import sys
from collections.abc import Iterator, Mapping
from datetime import timedelta
from pathlib import Path

import dagster as dg
from dagster_dbt import DagsterDbtCliRuntimeError, DbtCliResource, DbtProject

import settings
from ingestion.sources import Source, source_from_settings
from warehouse import DBT_TARGET_ENV, Warehouse, as_warehouse, configured_warehouse

DBT_PROJECT_DIR = Path(__file__).resolve().parent.parent / "dbt_project"
# dbt reads these besides its own project folder (seed-paths in dbt_project.yml).
DBT_EXTRA_SOURCE_DIRS = (DBT_PROJECT_DIR.parent / "pricing_seeds",)
DBT_GENERATED_DIRS = ("target", "logs", "dbt_packages")


# The event window of a dbt build (macro event_window), read by dbt at execution time: not --vars, whose every new
# value makes dbt re-parse the whole project (9 of a tiny build's 36 seconds).
DBT_WINDOW_ENV = {"window_start": "TOKENBOOKS_DBT_WINDOW_START", "window_end": "TOKENBOOKS_DBT_WINDOW_END"}


@contextlib.contextmanager
def warehouse_env_for_dbt(warehouse: Warehouse | Path, window: Mapping[str, str] | None = None) -> Iterator[None]:
    """dbt's profile reads the target and its connection from the environment (even to parse): point them at
    ``warehouse`` (a DuckDB file path is the DuckDB warehouse), the one the loader writes, while dbt runs; and
    give dbt the event ``window`` (``dbt_vars_for_window``), none meaning the whole history."""
    warehouse = as_warehouse(warehouse)
    window = window or {}
    for_dbt = {
        **warehouse.dbt_env(),
        DBT_TARGET_ENV: warehouse.kind,
        **{variable: window.get(name, "") for name, variable in DBT_WINDOW_ENV.items()},
    }
    previous = {name: os.environ.get(name) for name in for_dbt}
    os.environ.update(for_dbt)
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                del os.environ[name]
            else:
                os.environ[name] = value


def lookback() -> timedelta:
    return timedelta(hours=settings.current().lookback_hours)


def dbt_executable() -> str:
    """tokenbooks' dbt launcher (``orchestration.dbt_launcher``) installed beside this Python (a virtualenv need
    not be activated), else the one on PATH, else dbt itself."""
    for command in ("tokenbooks-dbt", "dbt"):
        beside_python = Path(sys.executable).with_name(command)
        if beside_python.exists():
            return str(beside_python)
        if on_path := shutil.which(command):
            return on_path
    return "dbt"


class WarehouseResource(dg.ConfigurableResource):
    """The warehouse: the loader writes ``raw.*`` into it, dbt builds the marts in it. PostgreSQL's connection
    settings come from ``TOKENBOOKS_PG_*`` only (never run config, which the Dagster UI shows)."""

    type: str | None = None  # duckdb | postgres; unset: TOKENBOOKS_WAREHOUSE_TYPE, else duckdb
    path: str | None = None  # the DuckDB file; unset: TOKENBOOKS_WAREHOUSE, else data/warehouse.duckdb

    def resolve(self) -> Warehouse:
        return configured_warehouse(self.type, self.path)


class PlatformSourceResource(dg.ConfigurableResource):
    """Where platform records come from: a landing directory or the analytics API (exactly one)."""

    landing_dir: str | None = None  # unset (with api_url): TOKENBOOKS_LANDING_DIR
    api_url: str | None = None  # unset (with landing_dir): TOKENBOOKS_API_URL

    def open(self) -> Source:
        if self.landing_dir or self.api_url:
            return source_from_settings(self.landing_dir, self.api_url)
        configured = settings.current()
        return source_from_settings(configured.landing_dir, configured.api_url)


# No fixed target: the profile reads TOKENBOOKS_DBT_TARGET, which warehouse_env_for_dbt sets for every dbt call.
tokenbooks_dbt = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)


def _newest_source_mtime() -> float:
    newest = 0.0
    for root in (DBT_PROJECT_DIR, *DBT_EXTRA_SOURCE_DIRS):
        for folder, subfolders, files in os.walk(root):
            # generated folders (a build's target folder holds hundreds of files) and dot files (dbt's .user.yml,
            # linter settings) do not change the manifest
            if Path(folder) == root:
                subfolders[:] = [name for name in subfolders if name not in DBT_GENERATED_DIRS]
            subfolders[:] = [name for name in subfolders if not name.startswith(".")]
            for name in files:
                if not name.startswith("."):
                    newest = max(newest, os.stat(os.path.join(folder, name)).st_mtime)
    return newest


def manifest_is_stale() -> bool:
    manifest = tokenbooks_dbt.manifest_path
    return not manifest.exists() or manifest.stat().st_mtime < _newest_source_mtime()


def dbt_resource() -> DbtCliResource:
    return DbtCliResource(project_dir=tokenbooks_dbt, dbt_executable=dbt_executable())


PARTIAL_PARSE_FILE = "partial_parse.msgpack"


def retire_build_target(build_target: Path) -> None:
    """Make a finished build's parse state the project's, then remove the build's own target folder.

    dagster-dbt starts every build from a copy of the project's ``partial_parse.msgpack``, in a target folder of
    its own; dbt parses the whole project again when its connection differs from the one that state was parsed
    for, and the state it then writes would stay in that folder. Kept, the next build on the same warehouse (every
    daily run of a deployment) parses only what changed. The folder (compiled SQL of every node) is removed: one
    per run would fill the disk of a deployment. A failed build never gets here, so its folder stays for whoever
    looks into it."""
    # dagster-dbt's target paths are relative to the project folder
    build_folder = DBT_PROJECT_DIR / build_target
    project_target = DBT_PROJECT_DIR / tokenbooks_dbt.target_path
    if build_folder.resolve() == project_target.resolve():
        return  # a build in the project's own target folder (never dagster-dbt's default): nothing to retire
    source = build_folder / PARTIAL_PARSE_FILE
    if source.exists():
        kept = project_target / PARTIAL_PARSE_FILE
        partial = kept.with_name(f".{PARTIAL_PARSE_FILE}.{os.getpid()}")
        shutil.copyfile(source, partial)
        os.replace(partial, kept)  # atomic: a build starting now copies the old state or the new, never half of one
    shutil.rmtree(build_folder, ignore_errors=True)


def parse_dbt_project(warehouse: Warehouse | None = None) -> Path:
    """``dbt parse`` with the same executable, target and environment as the dbt assets (on ``warehouse``, by
    default the configured one: dbt parses again in full when a build's connection differs from its parse's)."""
    with warehouse_env_for_dbt(warehouse or configured_warehouse()):
        dbt_resource().cli(["parse", "--quiet"], target_path=tokenbooks_dbt.target_path).wait()
    return tokenbooks_dbt.manifest_path


def prepare_dbt_manifest(warehouse: Warehouse | None = None) -> Path:
    """Parse the dbt project (for ``warehouse``) when its manifest is missing or older than the project files.

    The CLI and the tests call this before loading the Definitions; deployments call ``parse_dbt_project``
    once at build time.
    """
    return parse_dbt_project(warehouse) if manifest_is_stale() else tokenbooks_dbt.manifest_path


def prepare_dbt_manifest_if_dev() -> None:
    """Under ``dagster dev`` (what ``DbtProject.prepare_if_dev`` checks), parse on every code reload so
    edits show up at once. Parsing here rather than through ``prepare_if_dev`` uses the dbt beside this
    Python, found even when the virtualenv is not activated."""
    if tokenbooks_dbt.preparer.using_dagster_dev():
        parse_dbt_project()


class DbtOperationError(RuntimeError):
    """A dbt operation failed; the message holds dbt's errors."""


def run_dbt_operation(macro: str, arguments: dict[str, str], warehouse: Warehouse) -> list[str]:
    """``dbt run-operation`` on ``warehouse``; what the macro logged (``log(..., info=True)``), in order.

    dbt's console output (which the invocation echoes) is kept out of the caller's output: only the macro's
    messages, or dbt's errors, say what happened."""
    logged, errors = [], []
    with warehouse_env_for_dbt(warehouse), contextlib.redirect_stdout(io.StringIO()):
        # A target folder of their own: operations must not replace the manifest the Definitions are built from.
        invocation = dbt_resource().cli(
            ["run-operation", macro, "--args", json.dumps(arguments)],
            target_path=tokenbooks_dbt.target_path / "operations",
        )
        try:
            for event in invocation.stream_raw_events():
                info = event.raw_event["info"]
                if info["name"] == "JinjaLogInfo":
                    logged.append(info["msg"])
                elif info["level"] == "error":
                    errors.append(info["msg"])
        except DagsterDbtCliRuntimeError as failure:
            raise DbtOperationError("\n".join(errors) or str(failure)) from None
    return logged


def build_resources() -> dict[str, object]:
    return {"warehouse": WarehouseResource(), "platform": PlatformSourceResource(), "dbt": dbt_resource()}
