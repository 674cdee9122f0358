"""The delivery history: ``ops.alert_deliveries`` in the warehouse, one row per alert key, event (firing or
resolved) and destination. Only the delivery code writes it; dbt never rebuilds it.

The primary key is the de-duplication key: an event of an alert is planned for a destination once, ever,
so re-running a partition, a backfill or a restart finds the row and sends nothing again. A row keeps the
alert as it was sent, its status (``pending`` until first tried, ``retrying`` after failed runs,
``delivered``), how many HTTP attempts and failed runs it took, and the last error (never a URL).

The SQL is portable (DuckDB and PostgreSQL, through ``warehouse`` sessions). Each function takes
an open session; callers open one per step and close it at once (DuckDB allows one writing process per file).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from alerting.payloads import jsonable_alert
from warehouse import WarehouseSession, sql_str

SCHEMA = "ops"
TABLE = f"{SCHEMA}.alert_deliveries"
ALERTS_MART = "marts.alerts"
PENDING, RETRYING, DELIVERED = "pending", "retrying", "delivered"

DDL = f"""
create table if not exists {TABLE} (
    alert_key varchar not null,
    event varchar not null,
    destination varchar not null,
    alert_type varchar not null,
    severity varchar not null,
    alert varchar not null,
    status varchar not null,
    attempts integer not null,
    failed_runs integer not null,
    last_status_code integer,
    last_error varchar,
    created_at timestamp not null,
    last_attempt_at timestamp,
    next_attempt_at timestamp,
    delivered_at timestamp,
    primary key (alert_key, event, destination)
)
"""


@dataclass(frozen=True)
class Delivery:
    """A row of ``ops.alert_deliveries``; ``alert`` is the alert as sent (JSON values)."""

    alert_key: str
    event: str
    destination: str
    alert: dict[str, Any]
    status: str
    attempts: int
    failed_runs: int
    next_attempt_at: datetime | None


def literal(value: object) -> str:
    """A SQL literal for the values this table holds (text, whole numbers, naive UTC timestamps, NULL)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        raise TypeError("no boolean column here")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, datetime):
        return f"cast({sql_str(value.isoformat(sep=' '))} as timestamp)"
    return sql_str(str(value))


def ensure_table(session: WarehouseSession) -> None:
    session.execute(f"create schema if not exists {SCHEMA}")
    session.execute(DDL)


def read_alerts(session: WarehouseSession) -> list[dict[str, Any]] | None:
    """Every row of the alerts mart as JSON values, or None when the mart has not been built yet."""
    (exists,) = session.fetchone(
        "select count(*) from information_schema.tables where table_schema = 'marts' and table_name = 'alerts'"
    )
    if not exists:
        return None
    (columns,) = zip(
        *session.fetchall(
            "select column_name from information_schema.columns "
            "where table_schema = 'marts' and table_name = 'alerts' order by ordinal_position"
        ),
        strict=True,
    )
    rows = session.fetchall(f"select {', '.join(columns)} from {ALERTS_MART} order by alert_key")
    return [jsonable_alert(dict(zip(columns, row, strict=True))) for row in rows]


def read_deliveries(session: WarehouseSession) -> list[Delivery]:
    rows = session.fetchall(
        f"select alert_key, event, destination, alert, status, attempts, failed_runs, next_attempt_at "
        f"from {TABLE} order by created_at, alert_key, event, destination"
    )
    return [
        Delivery(key, event, destination, json.loads(alert), status, attempts, failed_runs, next_attempt_at)
        for key, event, destination, alert, status, attempts, failed_runs, next_attempt_at in rows
    ]


def plan(session: WarehouseSession, planned: Iterable[tuple[str, str, Mapping[str, Any]]], now: datetime) -> None:
    """Record (event, destination, alert) rows as pending; a row already there is left as it is."""
    values = [
        ", ".join(
            literal(value)
            for value in (
                alert["alert_key"],
                event,
                destination,
                alert["alert_type"],
                alert["severity"],
                json.dumps(alert, sort_keys=True),
                PENDING,
                0,
                0,
                now,
            )
        )
        for event, destination, alert in planned
    ]
    if values:
        session.execute(
            f"insert into {TABLE} (alert_key, event, destination, alert_type, severity, alert, status, attempts, "
            f"failed_runs, created_at) values ({'), ('.join(values)}) on conflict do nothing"
        )


def record_outcome(
    session: WarehouseSession,
    delivery: Delivery,
    *,
    delivered: bool,
    attempts: int,
    status_code: int | None,
    error: str | None,
    now: datetime,
    next_attempt_at: datetime | None,
) -> None:
    session.execute(
        f"""
        update {TABLE} set
            status = {literal(DELIVERED if delivered else RETRYING)},
            attempts = attempts + {literal(attempts)},
            failed_runs = failed_runs + {literal(0 if delivered else 1)},
            last_status_code = {literal(status_code)},
            last_error = {literal(error)},
            last_attempt_at = {literal(now)},
            next_attempt_at = {literal(None if delivered else next_attempt_at)},
            delivered_at = {literal(now if delivered else None)}
        where
            alert_key = {literal(delivery.alert_key)}
            and event = {literal(delivery.event)}
            and destination = {literal(delivery.destination)}
        """
    )
