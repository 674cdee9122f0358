"""When the pipeline runs: every day at 02:00 UTC, the whole graph for yesterday's partition."""

from __future__ import annotations

import dagster as dg

DAILY_JOB_NAME = "tokenbooks_daily"

# Every asset (ingestion loads, dbt models and their checks) in one run, so a day's marts are built from
# that day's loads; the shared daily partitions make one run cover one day, or a range of days.
daily_job = dg.define_asset_job(
    DAILY_JOB_NAME,
    selection=dg.AssetSelection.all(),
    description="Load every endpoint, then build and test every dbt model, for a day or a range of days.",
)

# The last partition is the last complete UTC day, so a tick at 02:00 UTC runs yesterday: two hours in
# which the platform's late records of the day become visible.
daily_schedule = dg.build_schedule_from_partitioned_job(daily_job, hour_of_day=2, minute_of_hour=0)
