"""The contract's records of what ``sample_platform.planning`` planned, one builder per endpoint.

Event records (logs, traces, feedback, rate-limits) come from a planned day; snapshot records (keys,
organizations) from the plan and how far the days written so far have used each key. Nothing here is
random: a planned day always gives the same records, and ``json_line`` the same bytes for them.
"""

from __future__ import annotations

import json
from datetime import timedelta
from functools import lru_cache
from typing import Any, NamedTuple

from sample_platform import catalog
from sample_platform.planning import (
    DAY_MS,
    EPOCH,
    RATE_LIMIT_PER_HOUR,
    DayPlan,
    OrgVersion,
    PlannedLlmCall,
    PlannedRequest,
    PlannedTrace,
    SampleOrg,
    SamplePlan,
)

EVENT_ENDPOINTS = ("logs", "traces", "feedback", "rate-limits")
SNAPSHOT_ENDPOINTS = ("keys", "organizations")

# One record a line: compact, and UTF-8 as it is.
json_line = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


@lru_cache(maxsize=4096)
def _date_prefix(day_number: int) -> str:
    return f"{EPOCH + timedelta(days=day_number)}T"


_CLOCK_TIMES = tuple(f"{h:02d}:{m:02d}:{s:02d}" for h in range(24) for m in range(60) for s in range(60))


def iso_ms(ms: int) -> str:
    """``2026-10-01T10:15:03.120Z`` for milliseconds since the epoch (cheaper than datetime per record)."""
    day, rest = divmod(ms, DAY_MS)
    seconds, millis = divmod(rest, 1000)
    return f"{_date_prefix(day)}{_CLOCK_TIMES[seconds]}.{millis:03d}Z"


# -- events --------------------------------------------------------------------------------------------------


def event_records(day: DayPlan) -> dict[str, list[tuple[int, int, Any]]]:
    """Every event record of the day as (event ms, order, record), each endpoint in event-time order.

    A trace's spans travel together: its item holds the list of them.
    """
    out: dict[str, list[tuple[int, int, Any]]] = {name: [] for name in EVENT_ENDPOINTS}
    last_trace: dict[str, str] = {}  # the latest trace of each conversation, which its feedback is about
    for order, request in enumerate(day.requests, start=1):
        timestamp = iso_ms(request.ts)
        out["rate-limits"].append((request.ts, order, _rate_limit_event(day.ids.new("rl"), request, timestamp)))
        out["logs"].append((request.ts, order, _request_log(day.ids.new("req"), request, timestamp)))
        if request.trace is not None:
            assert request.conversation_id is not None
            last_trace[request.conversation_id] = request.trace.trace_id
            out["traces"].append((request.ts, order, _spans(request, request.trace)))
        if request.feedback is not None:
            created_ms = request.ts + request.duration_ms
            record = {
                "id": day.ids.new("fb"),
                "conversation_id": request.conversation_id,
                "trace_id": last_trace.get(request.conversation_id or ""),
                "organization_id": request.organization_id,
                "reviewer": request.feedback.reviewer,
                "rating": request.feedback.rating,
                "comment": request.feedback.comment,
                "created_at": iso_ms(created_ms),
            }
            out["feedback"].append((created_ms, order, record))
    for records in out.values():
        records.sort(key=lambda item: (item[0], item[1]))
    return out


def _request_log(log_id: str, request: PlannedRequest, timestamp: str) -> dict[str, Any]:
    status = request.status
    error = None
    if status >= 400:
        error = {
            "status": status,
            "detail": catalog.ERROR_DETAILS[status],
            "traceback": catalog.TRACEBACKS.get(status),
        }
    return {
        "id": log_id,
        "organization_id": request.organization_id,
        "api_key_id": request.key_id,
        "timestamp": timestamp,
        "method": request.method,
        "endpoint": request.endpoint,
        "status_code": status,
        "duration_ms": request.duration_ms,
        "conversation_id": request.conversation_id,
        "trace_id": request.trace.trace_id if request.trace is not None else None,
        "workflow": request.workflow,
        "customer_data": request.customer_data,
        "error": error,
    }


def _rate_limit_event(event_id: str, request: PlannedRequest, timestamp: str) -> dict[str, Any]:
    return {
        "id": event_id,
        "organization_id": request.organization_id,
        "api_key_id": request.key_id,
        "occurred_at": timestamp,
        "outcome": "blocked" if request.status == 429 else "allowed",
        "limit": RATE_LIMIT_PER_HOUR,
        "window_seconds": 3600,
        "endpoint": request.endpoint,
    }


def _spans(request: PlannedRequest, trace: PlannedTrace) -> list[dict[str, Any]]:
    spans = []
    for span in trace.spans:
        record = {
            "span_id": span.span_id,
            "parent_span_id": span.parent_span_id,
            "trace_id": trace.trace_id,
            "organization_id": request.organization_id,
            "conversation_id": request.conversation_id,
            "workflow": request.workflow,
            "kind": span.kind,
            "name": span.name,
            "started_at": iso_ms(request.ts + span.offset_ms),
            "duration_ms": span.duration_ms,
            "status": span.status,
        }
        if span.llm is not None:
            record["llm"] = _llm(span.llm)
        if span.payload is not None:
            record["payload"] = span.payload
        record["attributes"] = span.attributes
        spans.append(record)
    return spans


def _llm(call: PlannedLlmCall) -> dict[str, Any]:
    return {
        "provider": call.profile.provider,
        "model": call.profile.model,
        "attempt": call.attempt,
        "service_tier": call.service_tier,
        "usage": call.usage,
        "provider_reported_cost_usd": call.provider_reported_cost_usd,
        "error_type": call.error_type,
    }


# -- snapshots -----------------------------------------------------------------------------------------------


class SnapshotRow(NamedTuple):
    id: str
    record: dict[str, Any]
    stale: bool = False  # an older version delivered after a newer one


def key_snapshot(plan: SamplePlan, key_last_used_ms: dict[str, int]) -> list[SnapshotRow]:
    rows = []
    for org in plan.orgs:
        for key in org.keys:
            record = {
                "id": key.id,
                "organization_id": key.organization_id,
                "name": key.name,
                "prefix": key.prefix,
                "created_at": iso_ms(key.created_ms),
                "last_used_at": iso_ms(key_last_used_ms[key.id]),
                "revoked_at": iso_ms(key.revoked_ms) if key.revoked_ms is not None else None,
            }
            rows.append(SnapshotRow(key.id, record))
    return rows


def organization_snapshot(plan: SamplePlan, day_index: int) -> list[SnapshotRow]:
    """Each organization's version at the end of the day; on the stale-version day, a lagging replica's."""
    scenarios = plan.scenarios
    day_end_ms = plan.day_start_ms(day_index + 1)
    rows = []
    stale: SnapshotRow | None = None
    for org in plan.orgs:
        current = [v for v in org.versions if v.updated_ms < day_end_ms][-1]
        rows.append(SnapshotRow(org.id, _organization(org, current)))
        if org.id == scenarios.upgraded_org and day_index == scenarios.stale_version_day:
            # a lagging replica serves the morning version after the afternoon one was delivered
            stale = SnapshotRow(org.id, _organization(org, org.versions[1]), stale=True)
            if day_index != scenarios.upgrade_day:
                rows[-1] = stale
                stale = None
    if stale is not None:
        rows.append(stale)
    return rows


def _organization(org: SampleOrg, version: OrgVersion) -> dict[str, Any]:
    return {
        "id": org.id,
        "name": org.name,
        "plan": version.plan,
        "segment": org.segment,
        "monthly_budget_usd": version.monthly_budget_usd,
        "created_at": iso_ms(org.created_ms),
        "updated_at": iso_ms(version.updated_ms),
        **org.extra_fields,
    }
