"""One delivery pass: what is firing now, what was already sent, what to send, and the record of it.

1. Read the alerts mart (every row: the conditions holding now) and the delivery history.
2. Plan, per configured destination: a ``firing`` event for each alert key never planned for it (routed
   by type and severity, and only if its window ended at most ``max_age`` before the evaluation time), and
   a ``resolved`` event for each key it was sent that no longer fires. Planned rows are written before any
   HTTP call, so a crash loses nothing: the next pass finds them pending.
3. Send what is due (pending, or retrying whose wait is over; a resolution only after its firing event got
   through), each with a few attempts, and record every outcome at once.

Exactly once per alert key and event: the history's primary key makes planning idempotent, and a row is
marked delivered right after the receiver's 2xx. (A crash between that 2xx and the write would send it
again: receivers can de-duplicate on the ``X-Tokenbooks-Delivery-Id`` header.)
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import requests

from alerting import store
from alerting.destinations import DeliveryPolicy, WebhookDestination
from alerting.payloads import FIRING, RESOLVED, delivery_id, render
from alerting.webhook import post_with_retries
from warehouse import Warehouse, as_warehouse

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeliveryReport:
    destinations: tuple[str, ...]
    mart_built: bool
    alerts_firing: int  # conditions holding now (mart rows and stale raw assets)
    too_old_to_send: int  # firing, but their window ended more than max_age before evaluation
    planned_firing: int
    planned_resolved: int
    delivered: int
    failed: int  # failed in this pass, retried by a later one
    awaiting_retry: int  # every event not yet delivered to a configured destination
    next_attempt_at: datetime | None  # earliest retry of those

    def summary(self) -> str:
        return (
            f"{self.alerts_firing} alert(s) firing ({self.too_old_to_send} too old to send); planned "
            f"{self.planned_firing} firing and {self.planned_resolved} resolved event(s); delivered "
            f"{self.delivered}, failed {self.failed}, awaiting retry {self.awaiting_retry} "
            f"(destinations: {', '.join(self.destinations) or 'none'})"
        )


def parse_time(value: str) -> datetime:
    """A timestamp of a JSON alert (ISO 8601, ``Z``) as a naive UTC datetime, like the warehouse's."""
    return datetime.fromisoformat(value).replace(tzinfo=None)


def is_recent(alert: Mapping[str, Any], policy: DeliveryPolicy) -> bool:
    if policy.max_age is None:
        return True
    return parse_time(alert["window_end"]) >= parse_time(alert["evaluated_at"]) - policy.max_age


def plan_events(
    firing: Mapping[str, Mapping[str, Any]],
    history: Sequence[store.Delivery],
    destinations: Sequence[WebhookDestination],
    policy: DeliveryPolicy,
    *,
    resolvable: Callable[[Mapping[str, Any]], bool] = lambda alert: True,
) -> list[tuple[str, str, Mapping[str, Any]]]:
    """(event, destination, alert) to record: new firing events and resolutions, none already planned.

    ``firing`` maps the keys of every condition holding now to its alert; a key sent earlier that is not in
    it is resolved, if ``resolvable(alert)`` (false for alerts of a source that could not be read).
    """
    planned_keys = {(d.alert_key, d.event, d.destination) for d in history}
    planned: list[tuple[str, str, Mapping[str, Any]]] = []
    for destination in destinations:
        for key, alert in firing.items():
            if (
                (key, FIRING, destination.name) not in planned_keys
                and destination.accepts(alert["alert_type"], alert["severity"])
                and is_recent(alert, policy)
            ):
                planned.append((FIRING, destination.name, alert))
        for sent in history:
            if (
                sent.destination == destination.name
                and sent.event == FIRING
                and sent.alert_key not in firing
                and (sent.alert_key, RESOLVED, destination.name) not in planned_keys
                and resolvable(sent.alert)
            ):
                planned.append((RESOLVED, destination.name, sent.alert))
    return planned


def due_events(history: Sequence[store.Delivery], destinations: Iterable[str], now: datetime) -> list[store.Delivery]:
    """Events to send now: not delivered, their wait over, and a resolution only once its firing got through."""
    configured = set(destinations)
    delivered_firing = {
        (d.alert_key, d.destination) for d in history if d.event == FIRING and d.status == store.DELIVERED
    }
    due = [
        d
        for d in history
        if d.destination in configured
        and d.status != store.DELIVERED
        and (d.next_attempt_at is None or d.next_attempt_at <= now)
        and (d.event == FIRING or (d.alert_key, d.destination) in delivered_firing)
    ]
    return sorted(due, key=lambda d: d.event != FIRING)  # stable: firing events first


def deliver(
    warehouse: Warehouse | Path,
    destinations: Sequence[WebhookDestination],
    policy: DeliveryPolicy,
    *,
    now: datetime,
    extra_alerts: Sequence[Mapping[str, Any]] = (),
    extra_rules: frozenset[str] = frozenset(),
    http: requests.Session | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> DeliveryReport:
    """One pass over the warehouse's alerts mart and delivery history (``now``: naive UTC). ``warehouse`` is a
    DuckDB file or any ``warehouse`` warehouse.

    ``extra_alerts`` are conditions found outside the mart (stale raw assets, from Dagster), of the rules
    ``extra_rules``: those are resolved by this pass even when the mart is not built yet.
    """
    warehouse = as_warehouse(warehouse)
    with warehouse.session() as db:
        store.ensure_table(db)
        mart_alerts = store.read_alerts(db)
        history = store.read_deliveries(db)
    firing = {alert["alert_key"]: alert for alert in [*(mart_alerts or []), *extra_alerts]}

    def resolvable(alert: Mapping[str, Any]) -> bool:
        # without the mart, only the extra alerts' own rules are known to have stopped firing
        return mart_alerts is not None or alert.get("alert_rule") in extra_rules

    planned = plan_events(firing, history, destinations, policy, resolvable=resolvable)
    with warehouse.session() as db:
        store.plan(db, planned, now)
        history = store.read_deliveries(db)

    by_name = {destination.name: destination for destination in destinations}
    delivered = failed = 0
    owned_http = http is None
    http = http or requests.Session()
    try:
        for event in due_events(history, by_name, now):
            destination = by_name[event.destination]
            outcome = post_with_retries(
                http,
                destination,
                render(destination.format, event.event, event.alert),
                delivery_id=delivery_id(event.alert_key, event.event),
                event=event.event,
                policy=policy,
                sleep=sleep,
            )
            with warehouse.session() as db:
                store.record_outcome(
                    db,
                    event,
                    delivered=outcome.delivered,
                    attempts=outcome.attempts,
                    status_code=outcome.status_code,
                    error=outcome.error,
                    now=now,
                    next_attempt_at=now + policy.retry_delay(event.failed_runs + 1),
                )
            if outcome.delivered:
                delivered += 1
            else:
                failed += 1
                log.warning(
                    "alert %s (%s) to %s failed after %d attempt(s): %s; retried from %s",
                    event.alert_key,
                    event.event,
                    destination.name,
                    outcome.attempts,
                    outcome.error,
                    now + policy.retry_delay(event.failed_runs + 1),
                )
    finally:
        if owned_http:
            http.close()

    with warehouse.session() as db:
        history = store.read_deliveries(db)
    waiting = [d for d in history if d.destination in by_name and d.status != store.DELIVERED]
    # a resolution waiting for its firing event is sent with it: only retrying rows say when to come back
    retry_times = [d.next_attempt_at for d in waiting if d.next_attempt_at is not None]
    return DeliveryReport(
        destinations=tuple(by_name),
        mart_built=mart_alerts is not None,
        alerts_firing=len(firing),
        too_old_to_send=sum(not is_recent(alert, policy) for alert in firing.values()),
        planned_firing=sum(event == FIRING for event, _, _ in planned),
        planned_resolved=sum(event == RESOLVED for event, _, _ in planned),
        delivered=delivered,
        failed=failed,
        awaiting_retry=len(waiting),
        next_attempt_at=min(retry_times, default=None),
    )
