"""The alerts mart on data engineered to fire every rule once, next to cases that stay below a minimum.

Nine days, 2026-11-01 (D1) to 2026-11-09 (D9), evaluated as of 2026-11-10 00:00 (var ``alerts_as_of``).
Provider-reported costs make every cost exact whatever the price seeds say; ``pending_ai`` has neither a
price nor a reported cost. What fires, worked out by hand from the default thresholds:

* cost spike: org_alpha spends $2 at 10:00 on D1-D8, then $10 on D9 (acme_ai/m-large): 5x the $2 median,
  over 4x and at least $1, so the org, its provider and its model fire per day and per hour (warning, < 8x).
  org_tiny goes from $0.01 to $0.05 (5x too, but under $1): nothing.
* SLA: gamma_ai/g-slow, 10 calls of 70 s on D5 (workflow slow-flow): p95 70 s over the 50 s default target
  and the 60 s workflow default; g-fast's 9 calls of 90 s (tiny-flow) are under the 10-call minimum. On D6,
  20 GET requests of 1.5 s break the 1 s endpoint target; 19 POSTs of 5 s are under the 20-request minimum.
* error rates (D7): org_delta answers 10 of 50 requests with 503 (20 % > 10 %); org_epsilon 49 of 49 with
  500 (under 50 requests). delta_ai/d-flaky fails 5 of 20 calls (25 % > 20 %), each failing over to
  epsilon_ai (25 % failover for delta_ai); zeta_ai/z-rare fails and fails over 19 of 19 (under 20 calls).
* budgets: org_alpha spends $26 of $40 (65 %: the 50 % level) and, 9 of 30 days in, projects $86.67 (over
  1.5x the budget: critical); org_omega spends $0.017 of $0.015 (every level) and projects $0.056667.
* runaway key: key_runaway has 21 blocked decisions at 12:00 on D7 (> 20); key_calm 20 at 13:00 (not > 20).
* pending cost: pending_ai/p-finetune's oldest call (D8 09:00) is 39 h old (> 24 h); p-new's is 12 h old.
  org_omega's November has 3 pending calls of 20 (15 % > 10 %).
* stale ingestion: the newest rate-limit decision (D7 13:19) is 58.68 h old (> 24 h: critical); the newest
  span (D9 12:00) exactly 12 h (not above 12), the newest request (D9 20:00) 4 h.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from alerting import store
from alerting.delivery import plan_events
from alerting.destinations import DeliveryPolicy, WebhookDestination
from alerting.payloads import render
from warehouse import DuckDBWarehouse

pytestmark = pytest.mark.slow

D1 = datetime(2026, 11, 1)
AS_OF = {"alerts_as_of": "2026-11-10T00:00:00"}
GET_CONVERSATION = "/api/v1/conversations/{conversation_id}"
POST_MESSAGE = "/api/v1/conversations/{conversation_id}/messages"


def day(n: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    """Day n (1 = 2026-11-01) at the given UTC time."""
    return D1 + timedelta(days=n - 1, hours=hour, minutes=minute, seconds=second)


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class Landing:
    """Records of the engineered platform, written as a landing directory."""

    def __init__(self) -> None:
        self.records: dict[str, list[dict[str, Any]]] = {
            "logs": [],
            "traces": [],
            "rate-limits": [],
            "keys": [],
            "organizations": [],
        }
        self.ids: Iterator[int] = iter(range(1, 100_000))

    def organization(self, org: str, budget: float | None) -> None:
        self.records["organizations"].append(
            {
                "id": org,
                "name": org.removeprefix("org_").title(),
                "plan": "growth",
                "segment": "smb",
                "monthly_budget_usd": budget,
                "created_at": "2026-01-01T00:00:00Z",
                "updated_at": "2026-10-01T00:00:00Z",
            }
        )

    def key(self, key: str, org: str) -> None:
        self.records["keys"].append(
            {
                "id": key,
                "organization_id": org,
                "name": key,
                "prefix": f"cmp_live_{key[-4:]}",
                "created_at": "2026-01-01T00:00:00Z",
                "last_used_at": "2026-11-07T12:00:00Z",
                "revoked_at": None,
            }
        )

    def call(
        self,
        org: str,
        provider: str,
        model: str,
        at: datetime,
        *,
        cost: float | None,
        duration_ms: int = 1000,
        workflow: str = "default-flow",
        status: str = "ok",
        trace_id: str | None = None,
        attempt: int = 1,
    ) -> str:
        """One LLM call (a span of its own trace unless trace_id is given); returns the trace id."""
        number = next(self.ids)
        trace_id = trace_id or f"trc_{number}"
        self.records["traces"].append(
            {
                "span_id": f"spn_{number}",
                "trace_id": trace_id,
                "parent_span_id": None,
                "organization_id": org,
                "workflow": workflow,
                "kind": "llm",
                "name": "generate",
                "started_at": iso(at),
                "duration_ms": duration_ms,
                "status": status,
                "llm": {
                    "provider": provider,
                    "model": model,
                    "attempt": attempt,
                    "usage": {"input_tokens": 100, "output_tokens": 10},
                    "provider_reported_cost_usd": cost,
                    "error_type": "server_error" if status == "error" else None,
                },
            }
        )
        return trace_id

    def request(self, org: str, at: datetime, method: str, endpoint: str, status: int, duration_ms: int) -> None:
        self.records["logs"].append(
            {
                "id": f"req_{next(self.ids)}",
                "organization_id": org,
                "api_key_id": None,
                "timestamp": iso(at),
                "method": method,
                "endpoint": endpoint,
                "status_code": status,
                "duration_ms": duration_ms,
                "error": {"status": status, "detail": "failed"} if status >= 500 else None,
            }
        )

    def rate_limit(self, org: str, key: str, at: datetime, outcome: str) -> None:
        self.records["rate-limits"].append(
            {
                "id": f"rl_{next(self.ids)}",
                "organization_id": org,
                "api_key_id": key,
                "occurred_at": iso(at),
                "outcome": outcome,
                "limit": 100,
                "window_seconds": 3600,
                "endpoint": GET_CONVERSATION,
            }
        )

    def write(self, directory: Path) -> Path:
        for endpoint, records in self.records.items():
            (directory / endpoint).mkdir(parents=True)
            lines = "".join(json.dumps(record) + "\n" for record in records)
            (directory / endpoint / "records.jsonl").write_text(lines, encoding="utf-8")
        return directory


def engineered_landing(directory: Path) -> Path:
    landing = Landing()
    for org, budget in [
        ("org_alpha", 40.0),
        ("org_tiny", 1000.0),
        ("org_gamma", 1000.0),
        ("org_delta", 1000.0),
        ("org_epsilon", None),
        ("org_omega", 0.015),
    ]:
        landing.organization(org, budget)
    landing.key("key_runaway", "org_delta")
    landing.key("key_calm", "org_gamma")

    # cost spikes: alpha fires, tiny stays under the minimum amount
    for n in range(1, 10):
        landing.call("org_alpha", "acme_ai", "m-large", day(n, 10), cost=10.0 if n == 9 else 2.0)
        landing.call("org_tiny", "beta_ai", "b-small", day(n, 10), cost=0.05 if n == 9 else 0.01)
    landing.request("org_alpha", day(9, 20), "GET", GET_CONVERSATION, 200, 100)

    # SLA: 10 slow calls breach, 9 slower ones are under the minimum volume
    for i in range(10):
        landing.call(
            "org_gamma", "gamma_ai", "g-slow", day(5, 11, i), cost=0.001, duration_ms=70_000, workflow="slow-flow"
        )
    for i in range(9):
        landing.call(
            "org_gamma", "gamma_ai", "g-fast", day(5, 12, i), cost=0.001, duration_ms=90_000, workflow="tiny-flow"
        )
    for i in range(20):
        landing.request("org_gamma", day(6, 9, i), "GET", GET_CONVERSATION, 200, 1500)
    for i in range(19):
        landing.request("org_gamma", day(6, 10, i), "POST", "/api/v1/conversations", 201, 5000)

    # error rates: 10 of delta's 50 requests answered 503; epsilon's 49 all 500, under 50 requests
    for i in range(50):
        landing.request("org_delta", day(7, 9, i), "POST", POST_MESSAGE, 503 if i < 10 else 200, 100)
    for i in range(49):
        landing.request(
            "org_epsilon", day(7, 10, i), "POST", "/api/v1/conversations/{conversation_id}/feedback", 500, 50
        )
    # failed calls failing over to epsilon_ai: 5 of delta_ai's 20, and all 19 of zeta_ai's (under 20 calls)
    for i in range(20):
        failed = i < 5
        at = day(7, 14, i)
        trace = landing.call("org_delta", "delta_ai", "d-flaky", at, cost=0.001, status="error" if failed else "ok")
        if failed:
            landing.call(
                "org_delta", "epsilon_ai", "e-backup", at + timedelta(seconds=2), cost=0.001, trace_id=trace, attempt=2
            )
    for i in range(19):
        at = day(7, 15, i)
        trace = landing.call("org_delta", "zeta_ai", "z-rare", at, cost=0.001, status="error")
        landing.call(
            "org_delta", "epsilon_ai", "e-backup", at + timedelta(seconds=2), cost=0.001, trace_id=trace, attempt=2
        )

    # runaway key: 21 blocked decisions in an hour fire, 20 do not
    for i in range(21):
        landing.rate_limit("org_delta", "key_runaway", day(7, 12, 2 * i), "blocked")
    for i in range(5):
        landing.rate_limit("org_delta", "key_runaway", day(7, 12, 41 + i), "allowed")
    for i in range(20):
        landing.rate_limit("org_gamma", "key_calm", day(7, 13, i), "blocked")

    # pending: p-finetune waits 39 h, p-new 12 h; omega's November is 3 pending calls of 20
    landing.call("org_omega", "pending_ai", "p-finetune", day(8, 9), cost=None)
    landing.call("org_omega", "pending_ai", "p-finetune", day(8, 10), cost=None)
    landing.call("org_omega", "pending_ai", "p-new", day(9, 12), cost=None)
    for i in range(17):
        landing.call("org_omega", "beta_ai", "b-small", day(9, 11, i), cost=0.001)
    return landing.write(directory)


SPIKE = ("warning", "10", "8", "16", "2", 1)
EXPECTED = {
    # alert_key: (severity, observed, threshold, critical, baseline, volume)
    "cost_spike_organization_day|org_alpha|2026-11-09 00:00:00": SPIKE,
    "cost_spike_organization_hour|org_alpha|2026-11-09 10:00:00": SPIKE,
    "cost_spike_provider_day|acme_ai|2026-11-09 00:00:00": SPIKE,
    "cost_spike_provider_hour|acme_ai|2026-11-09 10:00:00": SPIKE,
    "cost_spike_model_day|acme_ai/m-large|2026-11-09 00:00:00": SPIKE,
    "cost_spike_model_hour|acme_ai/m-large|2026-11-09 10:00:00": SPIKE,
    "sla_latency_model_day|gamma_ai/g-slow|2026-11-05 00:00:00": ("warning", "70000", "50000", "100000", "50000", 10),
    "sla_latency_workflow_day|slow-flow|2026-11-05 00:00:00": ("warning", "70000", "60000", "120000", "60000", 10),
    f"sla_latency_endpoint_day|GET {GET_CONVERSATION}|2026-11-06 00:00:00": (
        "warning", "1500", "1000", "2000", "1000", 20,
    ),
    "error_rate_organization_day|org_delta|2026-11-07 00:00:00": ("warning", "0.2", "0.1", "0.25", None, 50),
    "error_rate_model_day|delta_ai/d-flaky|2026-11-07 00:00:00": ("warning", "0.25", "0.2", "0.5", None, 20),
    "failover_rate_provider_day|delta_ai|2026-11-07 00:00:00": ("warning", "0.25", "0.2", "0.5", None, 20),
    "budget_50|org_alpha|2026-11-01 00:00:00": ("info", "26", "20", None, "40", 9),
    "budget_projected_overrun|org_alpha|2026-11-01 00:00:00": ("critical", "86.666667", "40", "60", "40", 9),
    "budget_50|org_omega|2026-11-01 00:00:00": ("info", "0.017", "0.0075", None, "0.015", 2),
    "budget_80|org_omega|2026-11-01 00:00:00": ("warning", "0.017", "0.012", None, "0.015", 2),
    "budget_100|org_omega|2026-11-01 00:00:00": ("critical", "0.017", "0.015", None, "0.015", 2),
    "budget_projected_overrun|org_omega|2026-11-01 00:00:00": ("critical", "0.056667", "0.015", "0.0225", "0.015", 2),
    "runaway_key_hour|key_runaway|2026-11-07 12:00:00": ("warning", "21", "20", "100", None, 26),
    "pending_cost_age|pending_ai/p-finetune|2026-11-08 09:00:00": ("warning", "39", "24", "72", None, 2),
    "pending_cost_share_organization_month|org_omega|2026-11-01 00:00:00": ("warning", "0.15", "0.1", "0.5", None, 20),
    "stale_ingestion|rate-limits|2026-11-07 13:19:00": ("critical", "58.683333", "12", "24", None, None),
}  # fmt: skip


def number(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def alert_rows(workspace) -> dict[str, tuple]:
    rows = workspace.query("select * from marts.alerts order by alert_key")
    return {
        row["alert_key"]: (
            row["severity"],
            row["observed_value"],
            row["threshold_value"],
            row["critical_value"],
            row["baseline_value"],
            row["volume"],
        )
        for row in rows
    }


@pytest.fixture(scope="module")
def built(new_workspace, tmp_path_factory):
    workspace = new_workspace()
    workspace.load(engineered_landing(tmp_path_factory.mktemp("alerts_landing")))
    workspace.dbt("build", "--select", "+alerts", "--indirect-selection", "cautious", "--vars", json.dumps(AS_OF))
    return workspace


def test_each_rule_fires_once_on_its_engineered_case_and_nothing_under_a_minimum(built):
    expected = {
        key: (severity, *(number(value) for value in values), volume)
        for key, (severity, *values, volume) in EXPECTED.items()
    }

    assert alert_rows(built) == expected


def test_alert_rows_name_their_subject_window_and_evaluation_time(built):
    rows = {row["alert_key"]: row for row in built.query("select * from marts.alerts")}

    spike = rows["cost_spike_organization_hour|org_alpha|2026-11-09 10:00:00"]
    assert (spike["alert_type"], spike["subject_type"], spike["organization_id"], spike["provider"]) == (
        "cost_spike",
        "organization",
        "org_alpha",
        None,
    )
    assert (spike["window_grain"], spike["window_start"], spike["window_end"]) == ("hour", day(9, 10), day(9, 11))
    assert spike["message"] == (
        "organization org_alpha: cost_usd $10.0000 (threshold $8.0000) in the hour from 2026-11-09 10:00:00"
    )
    runaway = rows["runaway_key_hour|key_runaway|2026-11-07 12:00:00"]
    assert (runaway["api_key_id"], runaway["organization_id"], runaway["message"]) == (
        "key_runaway",
        "org_delta",
        "api_key key_runaway: blocked_decisions 21 (threshold 20) in the hour from 2026-11-07 12:00:00",
    )
    pending = rows["pending_cost_age|pending_ai/p-finetune|2026-11-08 09:00:00"]
    assert (pending["provider"], pending["model"], pending["window_grain"], pending["window_end"]) == (
        "pending_ai",
        "p-finetune",
        "ongoing",
        datetime(2026, 11, 10),
    )
    assert rows["error_rate_organization_day|org_delta|2026-11-07 00:00:00"]["message"] == (
        "organization org_delta: share_5xx 20.0% (threshold 10.0%) on 2026-11-07"
    )
    assert rows["budget_projected_overrun|org_alpha|2026-11-01 00:00:00"]["message"] == (
        "organization org_alpha: projected_month_cost_usd $86.6667 (threshold $40.0000) in 2026-11"
    )
    assert {row["evaluated_at"] for row in rows.values()} == {datetime(2026, 11, 10)}


def test_a_raised_threshold_clears_its_alerts_and_leaves_the_others(built):
    before = alert_rows(built)
    seed = built.seed_path("alert_thresholds")
    original = seed.read_text(encoding="utf-8")
    with seed.open(newline="", encoding="utf-8") as file:
        rules = list(csv.DictReader(file))
    for rule in rules:
        if rule["alert_rule"].startswith("cost_spike_"):
            rule["threshold"] = "6"  # the spike is 5x its baseline
    with seed.open("w", newline="", encoding="utf-8") as file:
        writer = csv.DictWriter(file, fieldnames=list(rules[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rules)
    try:
        built.dbt(
            "build", "--select", "alert_thresholds+", "--indirect-selection", "cautious", "--vars", json.dumps(AS_OF)
        )
        after = alert_rows(built)
    finally:
        seed.write_text(original, encoding="utf-8")
        built.dbt(
            "build", "--select", "alert_thresholds+", "--indirect-selection", "cautious", "--vars", json.dumps(AS_OF)
        )

    assert after == {key: row for key, row in before.items() if not key.startswith("cost_spike_")}
    assert alert_rows(built) == before


def test_every_alert_of_the_built_mart_is_planned_once_per_webhook_and_renders(built):
    with DuckDBWarehouse(built.warehouse).session() as session:
        alerts = store.read_alerts(session)
    destinations = [
        WebhookDestination("oncall", "https://hooks.example.com/a", "json"),
        WebhookDestination("chat", "https://hooks.example.com/b", "slack"),
    ]

    planned = plan_events({a["alert_key"]: a for a in alerts}, [], destinations, DeliveryPolicy(max_age=None))

    assert sorted((event, name, alert["alert_key"]) for event, name, alert in planned) == sorted(
        ("firing", name, key) for key in EXPECTED for name in ("oncall", "chat")
    )
    for event, name, alert in planned:
        body = json.loads(render("json" if name == "oncall" else "slack", event, alert))
        assert body["alert"] == alert if name == "oncall" else alert["message"] in body["text"]
