"""Every tokenbooks setting: read from the environment once, validated, and named in each error.

Nothing else in tokenbooks reads a ``TOKENBOOKS_*`` variable: code takes its values from ``current()``, and
Dagster resources from it when their run config leaves them unset. ``docs/settings.md`` lists the same
variables (``settings_table()``, checked by a test). ``override()`` sets single settings for this process and
exports them, so the processes it starts (Dagster steps, dbt) see them (the benchmark harness's memory limit);
the ``tokenbooks`` flags do not go through it: ``run`` and ``statements`` pass them as their run's resource config.

Secrets (``TOKENBOOKS_API_KEY``, ``TOKENBOOKS_PG_PASSWORD``, webhook URLs and secrets) come from the
environment only, are ``SecretStr`` or kept out of ``repr``, and are never echoed in an error.
"""

from __future__ import annotations

import functools
import os
from datetime import date
from pathlib import Path
from typing import Annotated, Literal, get_args

from pydantic import Field, SecretStr, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

ENV_PREFIX = "TOKENBOOKS_"
# Per-destination webhook variables: TOKENBOOKS_ALERT_WEBHOOK_<NAME>_<SETTING> (parsed by alerting.destinations).
ALERT_WEBHOOK_PREFIX = ENV_PREFIX + "ALERT_WEBHOOK_"
WarehouseType = Literal["duckdb", "postgres"]
SslMode = Literal["disable", "allow", "prefer", "require", "verify-ca", "verify-full"]
WAREHOUSE_TYPES: tuple[str, ...] = get_args(WarehouseType)


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names the setting and what was expected."""


def env_name(field: str) -> str:
    """The environment variable of a ``Settings`` field."""
    return ENV_PREFIX + field.upper()


class Settings(BaseSettings):
    """The settings, one field per ``TOKENBOOKS_<FIELD>`` variable; the description is the documentation."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, env_ignore_empty=True, extra="ignore", frozen=True)

    # the warehouse
    warehouse_type: WarehouseType | None = Field(
        None, description="`duckdb` (default) or `postgres`: where the loader writes and dbt builds"
    )
    warehouse: Path = Field(
        Path("data/warehouse.duckdb"), description="the DuckDB warehouse file (relative to the working directory)"
    )
    duckdb_memory_limit: str | None = Field(
        None,
        description="memory DuckDB may use before it spills to disk, e.g. `4GB` or `50%` (DuckDB's default: 80% "
        "of RAM); the loader's and dbt's connections alike",
    )
    pg_host: str = Field("127.0.0.1", description="PostgreSQL warehouse host")
    pg_port: Annotated[int, Field(gt=0, lt=65536)] = Field(
        5432, description="PostgreSQL port", json_schema_extra={"expected": "a TCP port number"}
    )
    pg_user: str = Field("tokenbooks", description="PostgreSQL user (dbt builds as this user and owns the marts)")
    pg_password: SecretStr = Field(
        SecretStr(""), description="PostgreSQL password (unset: libpq's password file, or trust)"
    )
    pg_dbname: str = Field("tokenbooks", description="PostgreSQL database")
    pg_sslmode: SslMode = Field("prefer", description="libpq `sslmode`")
    dbt_target: WarehouseType | None = Field(
        None,
        description="target in `dbt_project/profiles.yml`; follows the warehouse type. Set alone it selects the "
        "warehouse type; set with it, the two must agree",
    )
    # the source: exactly one of the two
    landing_dir: Path | None = Field(None, description="landing directory of JSONL files (or `--landing`)")
    api_url: str | None = Field(None, description="base URL of the platform's analytics API (or `--api-url`)")
    api_key: SecretStr | None = Field(None, description="the platform API key (environment only, never in files)")
    api_page_size: Annotated[int, Field(gt=0)] = Field(5000, description="records per API page")
    api_timeout_seconds: Annotated[float, Field(gt=0)] = Field(30.0, description="HTTP timeout per API request")
    api_max_attempts: Annotated[int, Field(gt=0)] = Field(8, description="HTTP attempts per API page")
    api_backoff_seconds: Annotated[float, Field(gt=0)] = Field(
        0.5, description="wait before the 2nd attempt of an API page, doubling, with jitter"
    )
    # the loader and the runs
    load_chunk_bytes: Annotated[int, Field(gt=0)] = Field(
        256 * 1024 * 1024,
        description="files are committed in chunks of about this many bytes (compressed size for `.gz`): the "
        "unit of resumption and of peak memory",
    )
    lookback_hours: Annotated[int, Field(ge=0)] = Field(
        48, description="hours before a run's first day fetched and rebuilt again, for records that arrive late"
    )
    partitions_start: date = Field(date(2026, 1, 1), description="the first daily partition (`YYYY-MM-DD`)")
    statements_dir: Path | None = Field(
        None, description="where statement files go (default: `statements/` beside the DuckDB file)"
    )
    # alert delivery (per-destination variables: docs/settings.md)
    alert_webhooks: str = Field("", description="comma-separated alert destination names, e.g. `oncall,slack`")
    alert_attempts_per_run: Annotated[int, Field(ge=1)] = Field(
        3, description="HTTP attempts per alert in one delivery run"
    )
    alert_backoff_seconds: Annotated[float, Field(ge=0)] = Field(
        1.0, description="wait before the 2nd attempt of a delivery run, doubling"
    )
    alert_retry_seconds: Annotated[float, Field(ge=0)] = Field(
        60.0, description="wait before a later run retries a failed alert, doubling per failed run up to an hour"
    )
    alert_timeout_seconds: Annotated[float, Field(ge=0.001)] = Field(10.0, description="HTTP timeout per alert attempt")
    alert_max_age_hours: Annotated[float, Field(ge=0)] = Field(
        72.0, description="alerts whose window ended longer ago are not sent (backfills page no one); 0: no limit"
    )
    # the sample platform's API emulator
    emulator_api_keys: str = Field(
        "", description="comma-separated API keys the sample API emulator accepts (default: its demo key)"
    )

    # every TOKENBOOKS_ALERT_WEBHOOK_<NAME>_<SETTING> variable as read (URLs and secrets: never in a repr)
    alert_webhook_variables: dict[str, str] = Field(default_factory=dict, repr=False, exclude=True)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # the environment only: no .env or secrets files
        return init_settings, env_settings, _WebhookVariables(settings_cls)


class _WebhookVariables(PydanticBaseSettingsSource):
    """The per-destination webhook variables, whose names hold the destination's name."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[object, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, object]:
        found = {name: value for name, value in os.environ.items() if name.startswith(ALERT_WEBHOOK_PREFIX)}
        return {"alert_webhook_variables": found}


SECRET_FIELDS = frozenset({"api_key", "pg_password"})
# Fields that are not one variable each (and so not in the settings table).
DERIVED_FIELDS = frozenset({"alert_webhook_variables"})


def _describe(error: ErrorDetails) -> str:
    field = str(error["loc"][0]) if error["loc"] else ""
    got = "" if field in SECRET_FIELDS else f", got {error['input']!r}"
    return f"{env_name(field)}: expected {_expected(field, error)}{got}"


def _expected(field: str, error: ErrorDetails) -> str:
    kind = error["type"]
    context = error.get("ctx") or {}
    if kind == "literal_error":
        return "one of " + str(context.get("expected", "")).replace(" or ", ", ").replace("'", "")
    if kind.startswith("date"):
        return "a date like 2026-01-01"
    info = Settings.model_fields.get(field)
    if info is not None and isinstance(info.json_schema_extra, dict) and "expected" in info.json_schema_extra:
        return str(info.json_schema_extra["expected"])
    number = "a whole number" if info is not None and info.annotation is int else "a number"
    bounds = {"greater_than": "more than", "greater_than_equal": "of at least", "less_than": "less than"}
    if kind in bounds:
        return f"{number} {bounds[kind]} {next(iter(context.values())):g}"
    if kind.startswith(("int", "float")):
        return number
    return error["msg"]


def load() -> Settings:
    """Settings from the process environment; a malformed value raises ``ConfigError`` naming its variable."""
    try:
        return Settings()
    except ValidationError as error:
        raise ConfigError("; ".join(_describe(e) for e in error.errors())) from None


@functools.cache
def current() -> Settings:
    """The process's settings, read once."""
    return load()


def reload() -> Settings:
    """Read the environment again (after ``override``, or in a test that changed it)."""
    current.cache_clear()
    return current()


def override(**values: str | Path | None) -> Settings:
    """Set settings for this process and the processes it starts; ``None`` leaves one as is."""
    for field, value in values.items():
        if field not in Settings.model_fields or field in DERIVED_FIELDS:
            raise KeyError(field)
        if value is not None:
            os.environ[env_name(field)] = str(value)
    return reload()


def settings_table() -> list[tuple[str, str, str]]:
    """(variable, default, description) of every fixed setting, in declaration order."""
    rows = []
    for field, info in Settings.model_fields.items():
        if field in DERIVED_FIELDS:
            continue
        default = info.default
        if isinstance(default, SecretStr):
            default = default.get_secret_value()
        shown = "" if default in (None, "") else str(default)
        rows.append((env_name(field), shown, info.description or ""))
    return rows
