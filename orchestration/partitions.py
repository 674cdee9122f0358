"""Daily UTC partitions shared by every asset of the pipeline (ingestion and dbt).

The first partition is ``TOKENBOOKS_PARTITIONS_START`` (a ``YYYY-MM-DD`` date, default 2026-01-01): set it
to the first day of data you want to backfill. The last partition is yesterday, the last complete UTC day.
"""

from __future__ import annotations

import os
from datetime import date

import dagster as dg

from ingestion.sources import ConfigError

PARTITIONS_START_ENV = "TOKENBOOKS_PARTITIONS_START"
DEFAULT_PARTITIONS_START = "2026-01-01"


def partitions_start() -> str:
    value = os.environ.get(PARTITIONS_START_ENV) or DEFAULT_PARTITIONS_START
    try:
        date.fromisoformat(value)
    except ValueError:
        raise ConfigError(f"{PARTITIONS_START_ENV}: expected a date like 2026-01-01, got {value!r}") from None
    return value


daily_partitions = dg.DailyPartitionsDefinition(start_date=partitions_start(), timezone="UTC")
