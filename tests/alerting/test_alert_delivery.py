"""Alert delivery: real webhooks on loopback, a real warehouse (DuckDB, and PostgreSQL once), real Dagster.

The alerts mart is a table made from its dbt contract (the YAML's column types), holding hand-written rows,
so each test decides exactly what fires. The mart's own numbers are tested in tests/dbt/test_alerts_mart.py.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pytest
import yaml

import settings
from alerting.delivery import deliver
from alerting.destinations import DeliveryPolicy, WebhookDestination, destinations_from_settings, policy_from_settings
from alerting.payloads import delivery_id
from orchestration.resources import WarehouseResource
from settings import ConfigError

REPO = Path(__file__).resolve().parents[2]
ALERTS_YAML = REPO / "dbt_project" / "models" / "marts" / "alerts" / "_alerts__models.yml"
NOW = datetime(2026, 11, 10, 1, 0)
SECRET = "s3cr3t-signing-key"
POLICY = DeliveryPolicy(attempts_per_run=3, backoff_seconds=0.5, retry_seconds=60, timeout_seconds=5)

SPIKE = {
    "alert_key": "cost_spike_organization_day|org_alpha|2026-11-09 00:00:00",
    "alert_type": "cost_spike",
    "alert_rule": "cost_spike_organization_day",
    "severity": "warning",
    "message": "organization org_alpha: cost_usd $10.0000 (threshold $8.0000) on 2026-11-09",
    "subject_type": "organization",
    "subject": "org_alpha",
    "organization_id": "org_alpha",
    "window_grain": "day",
    "window_start": datetime(2026, 11, 9),
    "window_end": datetime(2026, 11, 10),
    "measure": "cost_usd",
    "unit": "usd",
    "observed_value": Decimal("10"),
    "threshold_value": Decimal("8"),
    "critical_value": Decimal("16"),
    "baseline_value": Decimal("2"),
    "volume": 1,
    "evaluated_at": datetime(2026, 11, 10),
}
BREACH = {
    **SPIKE,
    "alert_key": "sla_latency_model_day|gamma_ai/g-slow|2026-11-09 00:00:00",
    "alert_type": "sla_latency",
    "alert_rule": "sla_latency_model_day",
    "severity": "critical",
    "message": "model gamma_ai/g-slow: p95_latency_ms 120000 ms (threshold 50000 ms) on 2026-11-09",
    "subject_type": "model",
    "subject": "gamma_ai/g-slow",
    "organization_id": None,
    "provider": "gamma_ai",
    "model": "g-slow",
    "measure": "p95_latency_ms",
    "unit": "ms",
    "observed_value": Decimal("120000.5"),
    "threshold_value": Decimal("50000"),
    "critical_value": Decimal("100000"),
    "baseline_value": Decimal("50000"),
    "volume": 10,
}
# As a receiver sees them: every column of the mart, timestamps in ISO 8601 UTC, numbers as numbers.
SPIKE_JSON = {
    "alert_key": "cost_spike_organization_day|org_alpha|2026-11-09 00:00:00",
    "alert_type": "cost_spike",
    "alert_rule": "cost_spike_organization_day",
    "severity": "warning",
    "message": "organization org_alpha: cost_usd $10.0000 (threshold $8.0000) on 2026-11-09",
    "subject_type": "organization",
    "subject": "org_alpha",
    "organization_id": "org_alpha",
    "provider": None,
    "model": None,
    "workflow": None,
    "http_method": None,
    "endpoint": None,
    "api_key_id": None,
    "window_grain": "day",
    "window_start": "2026-11-09T00:00:00Z",
    "window_end": "2026-11-10T00:00:00Z",
    "measure": "cost_usd",
    "unit": "usd",
    "observed_value": 10,
    "threshold_value": 8,
    "critical_value": 16,
    "baseline_value": 2,
    "volume": 1,
    "evaluated_at": "2026-11-10T00:00:00Z",
}


class WebhookReceiver:
    """A webhook on 127.0.0.1 answering each POST with the next scripted status (then 200), recording it."""

    def __init__(self, statuses: list[int] | None = None):
        self.statuses = list(statuses or [])
        self.received: list[dict[str, Any]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                receiver.received.append(
                    {"path": self.path, "headers": dict(self.headers), "body": json.loads(body), "raw": body}
                )
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str = "/hooks/T0KEN-IN-PATH") -> str:
        return f"http://127.0.0.1:{self.server.server_port}{path}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    webhook = WebhookReceiver()
    yield webhook
    webhook.close()


def mart_ddl() -> str:
    """The alerts mart's table, column for column from its enforced dbt contract."""
    models = yaml.safe_load(ALERTS_YAML.read_text())["models"]
    (alerts,) = [model for model in models if model["name"] == "alerts"]
    columns = ", ".join(f"{column['name']} {column['data_type']}" for column in alerts["columns"])
    return f"create table marts.alerts ({columns})"


def mart_columns() -> list[str]:
    models = yaml.safe_load(ALERTS_YAML.read_text())["models"]
    (alerts,) = [model for model in models if model["name"] == "alerts"]
    return [column["name"] for column in alerts["columns"]]


def set_alerts(execute, rows: list[dict[str, Any]]) -> None:
    """Replace the mart's rows (what a dbt build of the alerts mart does)."""
    execute("delete from marts.alerts")
    columns = mart_columns()
    for row in rows:
        values = ", ".join(sql_value(row.get(column)) for column in columns)
        execute(f"insert into marts.alerts ({', '.join(columns)}) values ({values})")


def sql_value(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, datetime):
        return f"timestamp '{value.isoformat(sep=' ')}'"
    if isinstance(value, int | Decimal):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


class DuckDBMart:
    """A DuckDB warehouse file holding the alerts mart."""

    def __init__(self, path: Path):
        self.path = path
        self.execute("create schema marts")
        self.execute(mart_ddl())

    def execute(self, sql: str) -> list[tuple]:
        with duckdb.connect(str(self.path)) as con:
            return con.execute(sql).fetchall()

    def set_alerts(self, rows: list[dict[str, Any]]) -> None:
        set_alerts(self.execute, rows)

    def deliveries(self) -> list[tuple]:
        return self.execute(
            "select alert_key, event, destination, status, attempts, failed_runs, last_status_code, last_error "
            "from ops.alert_deliveries order by alert_key, event, destination"
        )


@pytest.fixture
def mart(tmp_path) -> DuckDBMart:
    return DuckDBMart(tmp_path / "warehouse.duckdb")


def json_hook(receiver: WebhookReceiver, **settings: Any) -> WebhookDestination:
    return WebhookDestination("oncall", receiver.url(), "json", **settings)


def run(mart: DuckDBMart, destinations, *, now: datetime = NOW, policy: DeliveryPolicy = POLICY, **kwargs):
    sleeps: list[float] = []
    report = deliver(mart.path, destinations, policy, now=now, sleep=sleeps.append, **kwargs)
    return report, sleeps


def test_each_new_alert_is_delivered_once_with_its_payload(mart, receiver):
    mart.set_alerts([SPIKE, BREACH])
    destinations = [
        json_hook(receiver, secret=SECRET),
        WebhookDestination("chat", receiver.url("/services/slack"), "slack"),
    ]

    report, sleeps = run(mart, destinations)

    assert (report.planned_firing, report.delivered, report.failed, report.awaiting_retry) == (4, 4, 0, 0)
    assert sleeps == []
    by_hook = {
        (r["path"], r["body"].get("alert", {}).get("alert_key") or r["body"]["text"]): r for r in receiver.received
    }
    assert len(receiver.received) == 4
    spike = by_hook[("/hooks/T0KEN-IN-PATH", SPIKE["alert_key"])]
    assert spike["body"] == {
        "source": "tokenbooks",
        "event": "firing",
        "delivery_id": delivery_id(SPIKE["alert_key"], "firing"),
        "alert": SPIKE_JSON,
    }
    assert spike["headers"]["X-Tokenbooks-Event"] == "firing"
    assert spike["headers"]["X-Tokenbooks-Delivery-Id"] == delivery_id(SPIKE["alert_key"], "firing")
    expected_signature = hmac.new(SECRET.encode(), spike["raw"], hashlib.sha256).hexdigest()
    assert spike["headers"]["X-Tokenbooks-Signature"] == f"sha256={expected_signature}"
    slack = [r["body"] for r in receiver.received if r["path"] == "/services/slack"]
    assert {body["text"] for body in slack} == {
        ":warning: WARNING: cost_spike - " + SPIKE["message"],
        ":red_circle: CRITICAL: sla_latency - " + BREACH["message"],
    }
    assert all(
        "X-Tokenbooks-Signature" not in r["headers"] for r in receiver.received if r["path"] == "/services/slack"
    )
    assert mart.deliveries() == [
        (SPIKE["alert_key"], "firing", "chat", "delivered", 1, 0, 200, None),
        (SPIKE["alert_key"], "firing", "oncall", "delivered", 1, 0, 200, None),
        (BREACH["alert_key"], "firing", "chat", "delivered", 1, 0, 200, None),
        (BREACH["alert_key"], "firing", "oncall", "delivered", 1, 0, 200, None),
    ]


def test_a_second_run_sends_nothing(mart, receiver):
    mart.set_alerts([SPIKE, BREACH])
    run(mart, [json_hook(receiver)])
    mart.set_alerts([SPIKE, BREACH])  # the same partition built again

    report, _ = run(mart, [json_hook(receiver)], now=NOW + timedelta(hours=1))

    assert (report.alerts_firing, report.planned_firing, report.delivered) == (2, 0, 0)
    assert len(receiver.received) == 2


def test_a_webhook_failing_twice_then_answering_gets_the_alert_exactly_once(mart, receiver):
    mart.set_alerts([SPIKE])
    receiver.statuses = [500, 500]

    report, sleeps = run(mart, [json_hook(receiver)])
    again, _ = run(mart, [json_hook(receiver)], now=NOW + timedelta(hours=1))

    assert [r["body"]["alert"]["alert_key"] for r in receiver.received] == [SPIKE["alert_key"]] * 3
    assert {r["headers"]["X-Tokenbooks-Delivery-Id"] for r in receiver.received} == {
        delivery_id(SPIKE["alert_key"], "firing")
    }
    assert sleeps == [0.5, 1.0]  # backoff doubles
    assert (report.delivered, report.failed, again.delivered) == (1, 0, 0)
    assert mart.deliveries() == [(SPIKE["alert_key"], "firing", "oncall", "delivered", 3, 0, 200, None)]


def test_a_failed_delivery_waits_then_a_later_run_delivers_it(mart, receiver):
    mart.set_alerts([SPIKE])
    receiver.statuses = [503, 503, 503, 200]
    hook = [json_hook(receiver)]
    policy = DeliveryPolicy(attempts_per_run=3, backoff_seconds=0, retry_seconds=60)

    failed, _ = run(mart, hook, policy=policy)
    assert mart.deliveries() == [(SPIKE["alert_key"], "firing", "oncall", "retrying", 3, 1, 503, "HTTP 503")]
    assert (failed.failed, failed.awaiting_retry, failed.next_attempt_at) == (1, 1, NOW + timedelta(seconds=60))

    too_early, _ = run(mart, hook, policy=policy, now=NOW + timedelta(seconds=30))
    assert (too_early.delivered, len(receiver.received)) == (0, 3)

    retried, _ = run(mart, hook, policy=policy, now=NOW + timedelta(seconds=60))
    assert (retried.delivered, retried.awaiting_retry, retried.next_attempt_at) == (1, 0, None)
    assert len(receiver.received) == 4
    assert mart.deliveries() == [(SPIKE["alert_key"], "firing", "oncall", "delivered", 4, 1, 200, None)]


def test_retries_wait_longer_after_each_failed_run():
    policy = DeliveryPolicy(retry_seconds=60, max_retry_seconds=3600)

    assert [policy.retry_delay(n).total_seconds() for n in (1, 2, 3, 6, 7, 20)] == [60, 120, 240, 1920, 3600, 3600]


def test_a_cleared_condition_sends_one_resolution(mart, receiver):
    mart.set_alerts([SPIKE, BREACH])
    run(mart, [json_hook(receiver)])
    mart.set_alerts([BREACH])  # the spike no longer holds (late data, a raised threshold, ...)

    report, _ = run(mart, [json_hook(receiver)], now=NOW + timedelta(hours=1))
    again, _ = run(mart, [json_hook(receiver)], now=NOW + timedelta(hours=2))

    resolutions = [r["body"] for r in receiver.received if r["body"]["event"] == "resolved"]
    assert resolutions == [
        {
            "source": "tokenbooks",
            "event": "resolved",
            "delivery_id": delivery_id(SPIKE["alert_key"], "resolved"),
            "alert": SPIKE_JSON,
        }
    ]
    assert (report.planned_resolved, report.delivered, again.planned_resolved, again.delivered) == (1, 1, 0, 0)
    assert len(receiver.received) == 3


def test_slack_resolution_message(mart, receiver):
    mart.set_alerts([BREACH])
    run(mart, [WebhookDestination("chat", receiver.url(), "slack")])
    mart.set_alerts([])

    run(mart, [WebhookDestination("chat", receiver.url(), "slack")], now=NOW + timedelta(hours=1))

    assert (
        receiver.received[-1]["body"]["text"]
        == ":white_check_mark: Resolved: sla_latency (critical) - " + (BREACH["message"])
    )


def test_alerts_of_long_ago_are_not_sent_so_a_backfill_pages_nobody(mart, receiver):
    old = {**SPIKE, "alert_key": "old", "window_start": datetime(2026, 10, 1), "window_end": datetime(2026, 10, 2)}
    mart.set_alerts([SPIKE, old])

    report, _ = run(mart, [json_hook(receiver)])
    unlimited, _ = run(mart, [json_hook(receiver)], policy=DeliveryPolicy(max_age=None))

    assert (report.alerts_firing, report.too_old_to_send, report.delivered) == (2, 1, 1)
    assert [r["body"]["alert"]["alert_key"] for r in receiver.received] == [SPIKE["alert_key"], "old"]
    assert unlimited.delivered == 1


def test_destinations_route_by_severity_and_type(mart, receiver):
    mart.set_alerts([SPIKE, BREACH])
    pager = WebhookDestination("pager", receiver.url("/pager"), min_severity="critical")
    finance = WebhookDestination("finance", receiver.url("/finance"), alert_types=frozenset({"cost_spike", "budget"}))

    run(mart, [pager, finance])

    assert sorted((r["path"], r["body"]["alert"]["alert_type"]) for r in receiver.received) == [
        ("/finance", "cost_spike"),
        ("/pager", "sla_latency"),
    ]


def test_a_missing_mart_resolves_nothing(mart, receiver):
    mart.set_alerts([SPIKE])
    run(mart, [json_hook(receiver)])
    mart.execute("drop table marts.alerts")  # e.g. a warehouse being rebuilt from scratch

    report, _ = run(mart, [json_hook(receiver)], now=NOW + timedelta(hours=1))

    assert (report.mart_built, report.alerts_firing, report.planned_resolved) == (False, 0, 0)
    assert len(receiver.received) == 1


def test_a_delivered_alert_leaves_its_webhook_url_out_of_debug_logs(mart, receiver, caplog):
    mart.set_alerts([SPIKE])

    with caplog.at_level(logging.DEBUG):
        report, _ = run(mart, [json_hook(receiver)])

    assert report.delivered == 1
    assert "T0KEN-IN-PATH" not in caplog.text


def test_urls_and_secrets_stay_out_of_logs_errors_and_the_history(mart, caplog):
    mart.set_alerts([SPIKE])
    closed = WebhookReceiver()
    url = closed.url("/hooks/T0KEN-IN-PATH")
    closed.close()  # nothing listens there any more: connections are refused
    destination = WebhookDestination("oncall", url, "json", secret=SECRET)

    with caplog.at_level(logging.DEBUG):
        report, _ = run(mart, [destination])

    assert report.failed == 1
    assert mart.deliveries() == [(SPIKE["alert_key"], "firing", "oncall", "retrying", 3, 1, None, "ConnectionError")]
    history = json.dumps(mart.execute("select * from ops.alert_deliveries"), default=str)
    for text in (caplog.text, history, repr(destination)):
        assert "T0KEN-IN-PATH" not in text and SECRET not in text
    assert "oncall" in caplog.text


def configured(monkeypatch: pytest.MonkeyPatch, environ: dict[str, str]) -> settings.Settings:
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    return settings.reload()


def test_destinations_and_policy_come_from_the_environment(monkeypatch):
    environ = {
        "TOKENBOOKS_ALERT_WEBHOOKS": "oncall, team-chat",
        "TOKENBOOKS_ALERT_WEBHOOK_ONCALL_URL": "https://hooks.example.com/T0KEN",
        "TOKENBOOKS_ALERT_WEBHOOK_ONCALL_SECRET": SECRET,
        "TOKENBOOKS_ALERT_WEBHOOK_ONCALL_MIN_SEVERITY": "critical",
        "TOKENBOOKS_ALERT_WEBHOOK_TEAM_CHAT_URL": "https://hooks.slack.example/services/T0KEN",
        "TOKENBOOKS_ALERT_WEBHOOK_TEAM_CHAT_FORMAT": "slack",
        "TOKENBOOKS_ALERT_WEBHOOK_TEAM_CHAT_ALERT_TYPES": "budget,cost_spike",
        "TOKENBOOKS_ALERT_ATTEMPTS_PER_RUN": "5",
        "TOKENBOOKS_ALERT_MAX_AGE_HOURS": "0",
    }

    oncall, chat = destinations_from_settings(configured(monkeypatch, environ))
    policy = policy_from_settings(settings.current())

    assert (oncall.name, oncall.url, oncall.format, oncall.secret, oncall.min_severity, oncall.alert_types) == (
        "oncall",
        "https://hooks.example.com/T0KEN",
        "json",
        SECRET,
        "critical",
        None,
    )
    assert (chat.name, chat.format, chat.alert_types) == ("team-chat", "slack", frozenset({"budget", "cost_spike"}))
    assert (policy.attempts_per_run, policy.max_age, policy.timeout_seconds) == (5, None, 10.0)
    for name in environ:
        monkeypatch.delenv(name)
    assert destinations_from_settings(settings.reload()) == ()


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"TOKENBOOKS_ALERT_WEBHOOKS": "oncall"}, "TOKENBOOKS_ALERT_WEBHOOK_ONCALL_URL: expected an http(s) URL"),
        (
            {"TOKENBOOKS_ALERT_WEBHOOKS": "oncall", "TOKENBOOKS_ALERT_WEBHOOK_ONCALL_URL": "ftp://T0KEN@host/x"},
            "TOKENBOOKS_ALERT_WEBHOOK_ONCALL_URL: expected an http(s) URL",
        ),
        (
            {
                "TOKENBOOKS_ALERT_WEBHOOKS": "oncall",
                "TOKENBOOKS_ALERT_WEBHOOK_ONCALL_URL": "https://host/T0KEN",
                "TOKENBOOKS_ALERT_WEBHOOK_ONCALL_FORMAT": "teams",
            },
            "TOKENBOOKS_ALERT_WEBHOOK_ONCALL_FORMAT: expected one of json, slack",
        ),
        ({"TOKENBOOKS_ALERT_ATTEMPTS_PER_RUN": "0"}, "TOKENBOOKS_ALERT_ATTEMPTS_PER_RUN: expected a whole number"),
    ],
)
def test_a_bad_setting_names_itself_but_never_echoes_a_url(monkeypatch, environ, message):
    with pytest.raises(ConfigError) as error:
        destinations_from_settings(configured(monkeypatch, environ))

    assert message in str(error.value)
    assert "T0KEN" not in str(error.value)


# -- PostgreSQL warehouse ------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.postgres
def test_the_history_lives_in_a_postgresql_warehouse_too(postgres_database, receiver):
    connection = postgres_database.connect()
    try:
        with connection.cursor() as cursor:
            cursor.execute("create schema marts")
            cursor.execute(mart_ddl())
            set_alerts(cursor.execute, [SPIKE])
    finally:
        connection.close()
    warehouse = postgres_database.warehouse()

    first = deliver(warehouse, [json_hook(receiver)], POLICY, now=NOW, sleep=lambda _: None)
    second = deliver(warehouse, [json_hook(receiver)], POLICY, now=NOW, sleep=lambda _: None)

    assert (first.delivered, second.delivered) == (1, 0)
    assert receiver.received[0]["body"]["alert"] == SPIKE_JSON
    assert postgres_database.rows("select alert_key, event, status, attempts from ops.alert_deliveries") == [
        (SPIKE["alert_key"], "firing", "delivered", 1)
    ]


# -- Dagster: the delivery job and its sensors ---------------------------------------------------------------


@pytest.fixture
def webhook_env(monkeypatch, receiver):
    """One JSON webhook configured the way an operator does it: environment only."""
    monkeypatch.setenv("TOKENBOOKS_ALERT_WEBHOOKS", "oncall")
    monkeypatch.setenv("TOKENBOOKS_ALERT_WEBHOOK_ONCALL_URL", receiver.url())
    monkeypatch.setenv("TOKENBOOKS_ALERT_WEBHOOK_ONCALL_SECRET", SECRET)
    monkeypatch.setenv("TOKENBOOKS_ALERT_BACKOFF_SECONDS", "0")
    monkeypatch.setenv("TOKENBOOKS_ALERT_MAX_AGE_HOURS", "0")
    return monkeypatch


@pytest.fixture
def instance(defs):
    # the sensors module builds on the dbt assets: `defs` parses the dbt project first when needed
    with dg.instance_for_test() as test_instance:
        yield test_instance


def deliver_in_dagster(instance: dg.DagsterInstance, mart: DuckDBMart) -> dg.ExecuteInProcessResult:
    from orchestration.sensors import alert_delivery_job

    return alert_delivery_job.execute_in_process(
        instance=instance, resources={"warehouse": WarehouseResource(path=str(mart.path))}
    )


def latest_observation(instance: dg.DagsterInstance) -> dict[str, Any]:
    from orchestration.sensors import ALERT_DELIVERIES_KEY

    (record,) = instance.fetch_observations(ALERT_DELIVERIES_KEY, limit=1).records
    return {name: value.value for name, value in record.asset_observation.metadata.items()}


def test_the_mart_sensor_asks_for_one_delivery_per_materialization(instance, webhook_env):
    from orchestration.sensors import ALERTS_MART_KEY, alerts_mart_sensor

    assert dg.AssetKey(["marts", "alerts"]) == ALERTS_MART_KEY
    first = dg.build_sensor_context(instance=instance)
    assert isinstance(alerts_mart_sensor(first), dg.SkipReason)
    for _ in range(3):  # a run over three partitions records three materializations
        instance.report_runless_asset_event(dg.AssetMaterialization(ALERTS_MART_KEY, partition="2026-11-09"))
    latest = instance.fetch_materializations(ALERTS_MART_KEY, limit=1).records[0].storage_id

    context = dg.build_sensor_context(instance=instance)
    request = alerts_mart_sensor(context)
    after = alerts_mart_sensor(dg.build_sensor_context(instance=instance, cursor=context.cursor))

    assert request.run_key == f"marts/alerts@{latest}"
    assert isinstance(after, dg.SkipReason)


def test_sensors_skip_saying_why_while_no_webhook_is_configured(instance, monkeypatch):
    from orchestration.sensors import ALERTS_MART_KEY, alert_retry_sensor, alerts_mart_sensor

    monkeypatch.delenv("TOKENBOOKS_ALERT_WEBHOOKS", raising=False)
    instance.report_runless_asset_event(dg.AssetMaterialization(ALERTS_MART_KEY))

    for sensor in (alerts_mart_sensor, alert_retry_sensor):
        skip = sensor(dg.build_sensor_context(instance=instance))
        assert skip.skip_message == "no alert webhook configured (TOKENBOOKS_ALERT_WEBHOOKS is empty)"


def test_the_job_delivers_retries_through_the_retry_sensor_and_records_observations(
    instance, webhook_env, mart, receiver
):
    from orchestration.sensors import alert_retry_sensor

    webhook_env.setenv("TOKENBOOKS_ALERT_ATTEMPTS_PER_RUN", "1")
    webhook_env.setenv("TOKENBOOKS_ALERT_RETRY_SECONDS", "0")
    mart.set_alerts([SPIKE, BREACH])
    receiver.statuses = [500]

    assert deliver_in_dagster(instance, mart).success
    observed = latest_observation(instance)
    retry = alert_retry_sensor(dg.build_sensor_context(instance=instance))
    assert deliver_in_dagster(instance, mart).success
    done = alert_retry_sensor(dg.build_sensor_context(instance=instance))

    assert {name: observed[name] for name in ("alerts_firing", "delivered", "failed", "awaiting_retry")} == {
        "alerts_firing": 2,
        "delivered": 1,
        "failed": 1,
        "awaiting_retry": 1,
    }
    assert retry.run_key.startswith("retry@")
    assert latest_observation(instance)["awaiting_retry"] == 0
    assert isinstance(done, dg.SkipReason)
    # the spike failed once (500), the breach went through, the retry run sent the spike
    assert [r["body"]["alert"]["alert_key"] for r in receiver.received] == [
        SPIKE["alert_key"],
        BREACH["alert_key"],
        SPIKE["alert_key"],
    ]


def test_a_stale_raw_asset_alerts_once_then_resolves_when_loaded_again(
    instance, webhook_env, mart, receiver, monkeypatch
):
    import orchestration.sensors as sensors

    mart.set_alerts([])
    logs = dg.AssetKey(["raw", "logs"])
    instance.report_runless_asset_event(dg.AssetMaterialization(logs))
    loaded = instance.fetch_materializations(logs, limit=1).records[0]
    last_load = datetime.fromtimestamp(loaded.timestamp, sensors.UTC).replace(tzinfo=None)
    a_day_later = last_load + timedelta(hours=27)
    wall_clock = sensors.utc_now
    monkeypatch.setattr(sensors, "utc_now", lambda: a_day_later)

    request = sensors.alert_retry_sensor(dg.build_sensor_context(instance=instance))
    assert deliver_in_dagster(instance, mart).success
    assert deliver_in_dagster(instance, mart).success  # still stale: nothing new
    instance.report_runless_asset_event(dg.AssetMaterialization(logs))  # loaded again, just now
    monkeypatch.setattr(sensors, "utc_now", wall_clock)
    assert deliver_in_dagster(instance, mart).success

    assert request.run_key == f"stale:raw/logs@{loaded.storage_id}"
    firing, resolved = (r["body"] for r in receiver.received)
    key = f"stale_ingestion_load|raw/logs|{last_load.isoformat(sep=' ')}"
    assert (firing["event"], firing["alert"]["alert_key"], resolved["event"], resolved["alert"]["alert_key"]) == (
        "firing",
        key,
        "resolved",
        key,
    )
    assert (firing["alert"]["alert_type"], firing["alert"]["observed_value"], firing["alert"]["threshold_value"]) == (
        "stale_ingestion",
        27,
        26,
    )
