"""When the pipeline runs: every day at 02:00 UTC, the whole graph for yesterday's partition; on the 2nd of
every month at 06:00 UTC, the billing statements of the month before."""

from __future__ import annotations

from datetime import timedelta

import dagster as dg

from orchestration.assets.statements import STATEMENT_FILES_KEY
from orchestration.partitions import monthly_partitions

DAILY_JOB_NAME = "tokenbooks_daily"
STATEMENTS_JOB_NAME = "tokenbooks_monthly_statements"

# Every asset (ingestion loads, dbt models and their checks) in one run, so a day's marts are built from
# that day's loads; the shared daily partitions make one run cover one day, or a range of days.
daily_job = dg.define_asset_job(
    DAILY_JOB_NAME,
    selection=dg.AssetSelection.all() - dg.AssetSelection.assets(STATEMENT_FILES_KEY),
    description="Load every endpoint, then build and test every dbt model, for a day or a range of days.",
)

# The last partition is the last complete UTC day, so a tick at 02:00 UTC runs yesterday: two hours in
# which the platform's late records of the day become visible.
daily_schedule = dg.build_schedule_from_partitioned_job(daily_job, hour_of_day=2, minute_of_hour=0)

# The statements are monthly, so they run in a job of their own over the monthly partitions.
statements_job = dg.define_asset_job(
    STATEMENTS_JOB_NAME,
    selection=dg.AssetSelection.assets(STATEMENT_FILES_KEY),
    partitions_def=monthly_partitions,
    description="Write every organization's billing statement files for a month (config close: true closes it).",
)


@dg.schedule(job=statements_job, cron_schedule="0 6 2 * *", execution_timezone="UTC")
def monthly_statements_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    """The previous month's statements (open drafts; closing stays a decision), on the 2nd at 06:00 UTC: by then
    the daily runs of the 1st and 2nd have loaded the month's last day and its late records (lookback)."""
    previous_month = (context.scheduled_execution_time.replace(day=1) - timedelta(days=1)).replace(day=1)
    partition_key = previous_month.strftime("%Y-%m-%d")
    return dg.RunRequest(run_key=partition_key, partition_key=partition_key)
