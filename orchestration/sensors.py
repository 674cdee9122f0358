"""Alert delivery in Dagster: a job that delivers, and the sensors that launch it.

* ``alerts_mart_sensor`` launches ``alert_delivery`` after each materialization of ``marts/alerts`` (run key:
  the materialization's storage id, so one materialization gives one run, whatever the ticks);
* ``alert_retry_sensor`` (every 5 minutes) launches it when failed deliveries are due again (known from the
  last run's observation of ``ops/alert_deliveries``, so the sensor never opens the warehouse) or when a raw
  asset has gone stale (one run per staleness episode).

The delivery step runs in the ``duckdb`` pool like every step that touches the warehouse. Both sensors
skip, saying why, while no webhook is configured (``TOKENBOOKS_ALERT_WEBHOOKS``): sensor ticks in the UI
show what happened. What is delivered, and the exactly-once rules, live in ``alerting``.
"""

from datetime import UTC, datetime

import dagster as dg
from dagster_dbt import get_asset_key_for_model

import settings
from alerting.delivery import deliver
from alerting.destinations import WEBHOOKS_ENV, destinations_from_settings, policy_from_settings
from orchestration.assets.dbt import dbt_models
from orchestration.assets.ingestion import DUCKDB_POOL
from orchestration.checks import STALE_LOAD_RULE, stale_asset_alert, stale_raw_assets
from orchestration.resources import WarehouseResource
from settings import ConfigError

ALERT_DELIVERY_JOB_NAME = "alert_delivery"
ALERTS_MART_KEY = get_asset_key_for_model([dbt_models], "alerts")
ALERT_DELIVERIES_KEY = dg.AssetKey(["ops", "alert_deliveries"])
RETRY_SENSOR_INTERVAL_SECONDS = 300

alert_deliveries = dg.AssetSpec(
    ALERT_DELIVERIES_KEY,
    deps=[ALERTS_MART_KEY],
    group_name="alerting",
    kinds={"python", "duckdb"},
    description="`ops.alert_deliveries`: every alert event (firing, resolved) per webhook, with its status and "
    "attempts. Written by the alert_delivery job, which records an observation per run.",
)


def utc_now() -> datetime:
    """The wall clock as naive UTC, like every timestamp in the warehouse."""
    return datetime.now(UTC).replace(tzinfo=None)


@dg.op(
    pool=DUCKDB_POOL,
    description="Send the alerts mart's new alerts (and resolutions, and stale raw assets) to the configured "
    "webhooks, once each, and record the deliveries in ops.alert_deliveries.",
)
def deliver_alerts(context: dg.OpExecutionContext, warehouse: WarehouseResource) -> None:
    destinations = destinations_from_settings(settings.current())
    now = utc_now()
    stale = stale_raw_assets(context.instance, now)
    report = deliver(
        warehouse.resolve(),
        destinations,
        policy_from_settings(settings.current()),
        now=now,
        extra_alerts=[stale_asset_alert(asset, now) for asset in stale],
        extra_rules=frozenset({STALE_LOAD_RULE}),
    )
    context.log.info(report.summary())
    metadata: dict[str, dg.RawMetadataValue] = {
        "destinations": ", ".join(report.destinations) or "none",
        "alerts_firing": report.alerts_firing,
        "too_old_to_send": report.too_old_to_send,
        "planned_firing": report.planned_firing,
        "planned_resolved": report.planned_resolved,
        "delivered": report.delivered,
        "failed": report.failed,
        "awaiting_retry": report.awaiting_retry,
    }
    if report.next_attempt_at is not None:
        metadata["next_attempt_at"] = dg.MetadataValue.timestamp(report.next_attempt_at.replace(tzinfo=UTC))
    context.log_event(dg.AssetObservation(ALERT_DELIVERIES_KEY, metadata=metadata))


@dg.job(name=ALERT_DELIVERY_JOB_NAME, description="Deliver new and resolved alerts to the configured webhooks.")
def alert_delivery_job():
    deliver_alerts()


def no_destinations_reason() -> dg.SkipReason | None:
    """Why a sensor should not launch a delivery (no webhook, or a malformed setting), else None."""
    try:
        destinations = destinations_from_settings(settings.current())
    except ConfigError as error:  # names the setting, never its value
        return dg.SkipReason(f"alert webhooks misconfigured: {error}")
    return None if destinations else dg.SkipReason(f"no alert webhook configured ({WEBHOOKS_ENV} is empty)")


@dg.sensor(
    job=alert_delivery_job,
    name="alerts_mart_sensor",
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Deliver alerts after each materialization of the alerts mart.",
)
def alerts_mart_sensor(context: dg.SensorEvaluationContext):
    # The cursor is the storage id of the last materialization handled: the latest stands for any before it
    # (the mart is rebuilt whole).
    records = context.instance.fetch_materializations(
        dg.AssetRecordsFilter(ALERTS_MART_KEY, after_storage_id=int(context.cursor) if context.cursor else None),
        limit=1,
    ).records
    if not records:
        return dg.SkipReason(f"no new materialization of {ALERTS_MART_KEY.to_user_string()}")
    context.update_cursor(str(records[0].storage_id))
    skip = no_destinations_reason()
    if skip is not None:
        return skip
    return dg.RunRequest(run_key=f"{ALERTS_MART_KEY.to_user_string()}@{records[0].storage_id}")


@dg.sensor(
    job=alert_delivery_job,
    name="alert_retry_sensor",
    minimum_interval_seconds=RETRY_SENSOR_INTERVAL_SECONDS,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Retry failed alert deliveries when due, and alert on raw assets gone stale.",
)
def alert_retry_sensor(context: dg.SensorEvaluationContext):
    skip = no_destinations_reason()
    if skip is not None:
        return skip
    now = utc_now()
    reasons = []
    observations = context.instance.fetch_observations(ALERT_DELIVERIES_KEY, limit=1).records
    if observations:
        metadata = observations[0].asset_observation.metadata
        next_attempt = metadata.get("next_attempt_at")
        if next_attempt is not None and datetime.fromtimestamp(next_attempt.value, UTC).replace(tzinfo=None) <= now:
            reasons.append(f"retry@{observations[0].storage_id}")
    for asset in stale_raw_assets(context.instance, now):
        reasons.append(f"stale:{asset.key.to_user_string()}@{asset.storage_id}")
    if not reasons:
        return dg.SkipReason("no failed delivery due and no stale raw asset")
    return dg.RunRequest(run_key=" ".join(reasons))
