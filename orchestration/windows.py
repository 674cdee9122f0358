"""Time windows: which days a ``tokenbooks run`` covers, and the event-time window a run loads and builds.

A run over partitions loads, and rebuilds in dbt, ``[first day - lookback, day after the last day)``: the
lookback picks up records that became visible late, and rebuilds their marts in the same run.

Days asked for are half-open like every window in tokenbooks: ``--start`` included, ``--end`` excluded.

A run covers whole UTC days (daily partitions), from the first partition (``TOKENBOOKS_PARTITIONS_START``) to
the last complete day. Days asked for outside that range are an error; days found in landing data outside
it are left out, with a note saying why.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import dagster as dg
import duckdb

from ingestion.lines import LineReader, json_problem_sql
from ingestion.records import ENDPOINTS
from ingestion.sources import LandingSource
from orchestration.partitions import PARTITIONS_START_ENV
from settings import ConfigError
from warehouse import configure_duckdb

ONE_DAY = timedelta(days=1)
# Timestamps in the raw tables are naive UTC, so the dbt vars are too (no offset for the SQL to cast away).
DBT_VAR_TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S"


def load_window(partition_window: dg.TimeWindow, lookback_period: timedelta) -> tuple[datetime, datetime]:
    """The event-time window to load: the partitions' window, starting earlier to catch late records."""
    return partition_window.start - lookback_period, partition_window.end


def dbt_vars_for_window(partition_window: dg.TimeWindow, lookback_period: timedelta) -> dict[str, str]:
    """dbt vars for a partition window: the half-open event-time window ``[window_start, window_end)``.

    It is the window the ingestion assets loaded, lookback included: late records loaded for earlier days
    are rebuilt into the incremental marts by the same run.
    """
    start, end = load_window(partition_window, lookback_period)
    return {
        "window_start": start.astimezone(UTC).strftime(DBT_VAR_TIMESTAMP_FORMAT),
        "window_end": end.astimezone(UTC).strftime(DBT_VAR_TIMESTAMP_FORMAT),
    }


@dataclass(frozen=True)
class RunWindow:
    """Whole UTC days from ``first_day`` to ``last_day``, both included."""

    first_day: date
    last_day: date
    notes: tuple[str, ...] = ()

    @property
    def days(self) -> int:
        return (self.last_day - self.first_day).days + 1

    def describe(self) -> str:
        return f"[{self.first_day}, {self.last_day + ONE_DAY}) ({self.days} day(s))"


def landing_event_dates(source: LandingSource) -> tuple[date, date] | None:
    """First and last UTC day of the event records in a landing directory (None: no valid event time).

    Reads the lines as the loader does (``ingestion.lines``: DuckDB, all cores, a byte-level pass only for files
    DuckDB's reader refuses) and only each record's event-time field. Lines that are not JSON the loader would
    accept (not UTF-8, NaN, too deep, ...) or whose time is not a timestamp are skipped here: the load
    quarantines them whatever the window. Nothing a line holds stops the scan.
    """
    firsts, lasts = [], []
    # Gzip CRCs are left to the load: at worst a corrupt file's garbled line moves a day of the window.
    with (
        configure_duckdb(duckdb.connect()) as con,
        LineReader(con, label="window discovery", verify_gzip=False) as reader,
    ):
        for endpoint in ENDPOINTS.values():
            files = source.files(endpoint.name)
            if endpoint.snapshot or not files:
                continue
            event_time = f"""json_extract_string(line, '$."{endpoint.event_time_field}"')"""
            day = f"cast(try_cast({event_time} as timestamptz) as date)"
            first, last = reader.run(
                files,
                lambda lines, day=day: con.execute(
                    f"select min(day), max(day) from (select case when json_valid(line) and "
                    f"{json_problem_sql('line')} is null then {day} end as day from {lines})"
                ).fetchone(),
            )
            if first is not None:
                firsts.append(first)
                lasts.append(last)
    return (min(firsts), max(lasts)) if firsts else None


def choose_window(
    *,
    start: date | None,
    end: date | None,
    data_days: tuple[date, date] | None,
    first_partition: date,
    last_partition: date,
) -> RunWindow:
    """The run's days: from ``start`` (included) to ``end`` (excluded) when given, else the data's days (both
    included), else every partition; always within the partitions ``first_partition`` .. ``last_partition``."""
    if start is not None and start < first_partition:
        raise ConfigError(
            f"--start {start}: expected a day from {first_partition} on (the first partition, {PARTITIONS_START_ENV})"
        )
    if end is not None and end > last_partition + ONE_DAY:
        raise ConfigError(
            f"--end {end}: expected a day up to {last_partition + ONE_DAY} (the end is excluded, and the last "
            f"complete UTC day is {last_partition})"
        )
    notes = []
    first, last = data_days or (first_partition, last_partition)
    if start is None and first < first_partition:
        notes.append(
            f"records before {first_partition} are left out: set {PARTITIONS_START_ENV} to an earlier day to load them"
        )
    if end is None and last > last_partition:
        notes.append(f"records after {last_partition} are left out until their day is complete")
    first_day = start or max(first, first_partition)
    last_day = end - ONE_DAY if end is not None else min(last, last_partition)
    if first_day > last_day:
        raise ConfigError(
            f"no day to run from {first_day} to {last_day + ONE_DAY} (excluded): expected --start before --end, "
            f"within {first_partition} .. {last_partition + ONE_DAY}"
        )
    return RunWindow(first_day, last_day, tuple(notes))
