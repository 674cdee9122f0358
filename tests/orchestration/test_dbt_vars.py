from datetime import UTC, datetime, timedelta, timezone

import dagster as dg

from orchestration.partitions import daily_partitions
from orchestration.windows import dbt_vars_for_window, load_window

NO_LOOKBACK = timedelta(0)


def test_one_day_partition_gives_that_day_as_a_half_open_window():
    window = daily_partitions.time_window_for_partition_key("2026-03-01")

    assert dbt_vars_for_window(window, NO_LOOKBACK) == {
        "window_start": "2026-03-01T00:00:00",
        "window_end": "2026-03-02T00:00:00",
    }


def test_the_window_starts_a_lookback_earlier_like_the_loads():
    window = daily_partitions.time_window_for_partition_key("2026-03-01")

    assert dbt_vars_for_window(window, timedelta(hours=48)) == {
        "window_start": "2026-02-27T00:00:00",
        "window_end": "2026-03-02T00:00:00",
    }


def test_a_range_of_partitions_gives_one_window_over_all_its_days():
    window = dg.TimeWindow(datetime(2026, 2, 27, tzinfo=UTC), datetime(2026, 3, 3, tzinfo=UTC))

    assert dbt_vars_for_window(window, timedelta(hours=6)) == {
        "window_start": "2026-02-26T18:00:00",
        "window_end": "2026-03-03T00:00:00",
    }


def test_vars_are_in_utc_whatever_the_window_timezone():
    plus_two = timezone(timedelta(hours=2))
    window = dg.TimeWindow(datetime(2026, 3, 1, 2, 0, tzinfo=plus_two), datetime(2026, 3, 2, 2, 0, tzinfo=plus_two))

    assert dbt_vars_for_window(window, NO_LOOKBACK) == {
        "window_start": "2026-03-01T00:00:00",
        "window_end": "2026-03-02T00:00:00",
    }


def test_load_window_starts_a_lookback_earlier_and_ends_with_the_partitions():
    window = daily_partitions.time_window_for_partition_key("2026-03-01")

    start, end = load_window(window, timedelta(hours=48))

    assert (start, end) == (datetime(2026, 2, 27, tzinfo=UTC), datetime(2026, 3, 2, tzinfo=UTC))
