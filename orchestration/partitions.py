"""Partitions: daily UTC partitions shared by every asset of the pipeline (ingestion and dbt), and the monthly
partitions of the billing statements.

The first partition is ``TOKENBOOKS_PARTITIONS_START`` (a ``YYYY-MM-DD`` date, default 2026-01-01): set it
to the first day of data you want to backfill. The last partition is yesterday, the last complete UTC day.
The billing months start with the month of the first daily partition and run to the current month (its
statement is a draft to date until the month is closed).
"""

from __future__ import annotations

import dagster as dg

import settings

PARTITIONS_START_ENV = settings.env_name("partitions_start")

FIRST_DAY = settings.current().partitions_start

daily_partitions = dg.DailyPartitionsDefinition(start_date=FIRST_DAY.isoformat(), timezone="UTC")

monthly_partitions = dg.MonthlyPartitionsDefinition(
    start_date=FIRST_DAY.replace(day=1).isoformat(),
    timezone="UTC",
    end_offset=1,  # the current month too: its open statement is a draft to date
)
