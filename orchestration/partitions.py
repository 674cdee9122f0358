"""Partitions: daily UTC partitions of the ingestion assets, and the monthly partitions of the billing statements.

The dbt assets are not partitioned: a dbt model is one table, and a run rebuilds the days of its partitions in
it (``run_partition_window``). A partition per model per day would cost a materialization event and a row per
dbt test per day in the Dagster instance: a first backfill of half a year would spend minutes on bookkeeping.

The first partition is ``TOKENBOOKS_PARTITIONS_START`` (a ``YYYY-MM-DD`` date, default 2026-01-01): set it
to the first day of data you want to backfill. The last partition is yesterday, the last complete UTC day.
The billing months start with the month of the first daily partition and run to the current month (its
statement is a draft to date until the month is closed).
"""

from __future__ import annotations

from collections.abc import Mapping

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

# Run tags Dagster reads to run every partitioned asset of a job over one partition, or a range of them in one run.
PARTITION_TAG = "dagster/partition"
PARTITION_RANGE_START_TAG = "dagster/asset_partition_range_start"
PARTITION_RANGE_END_TAG = "dagster/asset_partition_range_end"
# Dagster's opt-in (dagster-io/dagster#29288): a run over a range of daily partitions records one "planned" event
# per asset, not one per asset per day (1,080 rows, about 29 s, before the loads of a half-year backfill
# started). The trade: when such a run fails, its days show as missing rather than failed in the UI; the run
# shows the failure. `tokenbooks run` and `make dev` set it; a deployment sets it for its webserver and daemon.
RANGED_PLANNED_EVENTS_ENV = "DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS"
# The days a run of the dbt assets alone rebuilds (first and last day, as partition keys). Not the partition tags
# above: Dagster plans a run over partition tags per partition for every asset and check in it, partitioned or
# not (a row per dbt test per day in the instance).
BUILD_FIRST_DAY_TAG = "tokenbooks/build_first_day"
BUILD_LAST_DAY_TAG = "tokenbooks/build_last_day"


def run_partition_window(run_tags: Mapping[str, str]) -> dg.TimeWindow | None:
    """The time window of the daily partitions a run covers (one day, or a range), from its partition tags or its
    build tags; None for a run that names no day (e.g. the dbt assets materialized on their own)."""
    first = run_tags.get(PARTITION_RANGE_START_TAG) or run_tags.get(PARTITION_TAG) or run_tags.get(BUILD_FIRST_DAY_TAG)
    last = run_tags.get(PARTITION_RANGE_END_TAG) or run_tags.get(PARTITION_TAG) or run_tags.get(BUILD_LAST_DAY_TAG)
    if first is None or last is None:
        return None
    return dg.TimeWindow(
        daily_partitions.time_window_for_partition_key(first).start,
        daily_partitions.time_window_for_partition_key(last).end,
    )
