"""Webhook bodies for an alert event: the generic JSON (every column of the alert) and a Slack-compatible
message (incoming webhooks: ``text`` plus ``blocks``).

An alert is a dict of the ``alerts`` mart's columns with JSON values (``jsonable_alert``); an event is
``firing`` (the condition started) or ``resolved`` (it no longer holds).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

FIRING = "firing"
RESOLVED = "resolved"
EVENTS = (FIRING, RESOLVED)
SOURCE = "tokenbooks"
SLACK_ICONS = {"critical": ":red_circle:", "warning": ":warning:", "info": ":information_source:"}
RESOLVED_ICON = ":white_check_mark:"


def jsonable_alert(row: Mapping[str, Any]) -> dict[str, Any]:
    """A mart row as JSON values: timestamps ISO 8601 UTC (``Z``), decimals as numbers."""
    return {name: _jsonable(value) for name, value in row.items()}


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ") if value.microsecond else value.strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def delivery_id(alert_key: str, event: str) -> str:
    """The same id for every attempt of one event of one alert: receivers can de-duplicate on it."""
    return hashlib.sha256(f"{alert_key}\n{event}".encode()).hexdigest()[:32]


def json_payload(event: str, alert: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "source": SOURCE,
        "event": event,
        "delivery_id": delivery_id(alert["alert_key"], event),
        "alert": dict(alert),
    }


def slack_payload(event: str, alert: Mapping[str, Any]) -> dict[str, Any]:
    severity = alert["severity"]
    if event == RESOLVED:
        headline = f"{RESOLVED_ICON} Resolved: {alert['alert_type']} ({severity})"
    else:
        headline = f"{SLACK_ICONS.get(severity, '')} {severity.upper()}: {alert['alert_type']}".strip()
    window = f"{alert['window_start']} to {alert['window_end']} ({alert['window_grain']})"
    return {
        "text": f"{headline} - {alert['message']}",
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": f"*{headline}*\n{alert['message']}"}},
            {
                "type": "context",
                "elements": [
                    {"type": "mrkdwn", "text": f"rule `{alert['alert_rule']}` | window {window}"},
                    {"type": "mrkdwn", "text": f"key `{alert['alert_key']}`"},
                ],
            },
        ],
    }


PAYLOAD_BUILDERS = {"json": json_payload, "slack": slack_payload}


def render(output_format: str, event: str, alert: Mapping[str, Any]) -> bytes:
    """The request body for a destination of ``output_format`` (json or slack)."""
    return json.dumps(PAYLOAD_BUILDERS[output_format](event, alert), separators=(",", ":")).encode()
