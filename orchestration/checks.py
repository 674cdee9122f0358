"""Freshness of the raw assets: each ingestion asset must have been materialized within the last 26 hours
(the daily schedule runs every 24; the dbt sources warn after 26 hours too).

Two views of one bound: the asset checks below show it in the Dagster UI (evaluated by their sensor), and
``stale_raw_assets`` lets the alert delivery raise a ``stale_ingestion`` alert for it. That one condition is
read from Dagster rather than computed in the alerts mart on purpose: when ingestion stops altogether, the
mart is not rebuilt either, so only the orchestrator can tell.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import dagster as dg

from alerting.payloads import jsonable_alert
from orchestration.assets.ingestion import ingestion_assets

INGESTION_FRESHNESS = timedelta(hours=26)
STALE_LOAD_RULE = "stale_ingestion_load"

# Freshness checks are "superseded" by the new FreshnessPolicy, which is still a preview that must be
# switched on in each instance's dagster.yaml; the checks work on any instance, so they stay for now.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", dg.SupersessionWarning)
    raw_freshness_checks = dg.build_last_update_freshness_checks(
        assets=ingestion_assets, lower_bound_delta=INGESTION_FRESHNESS
    )
    freshness_checks_sensor = dg.build_sensor_for_freshness_checks(
        freshness_checks=raw_freshness_checks,
        minimum_interval_seconds=600,
        default_status=dg.DefaultSensorStatus.RUNNING,
    )


@dataclass(frozen=True)
class StaleAsset:
    key: dg.AssetKey
    last_update: datetime  # naive UTC
    storage_id: int  # of its last materialization: one staleness episode


def stale_raw_assets(instance: dg.DagsterInstance, now: datetime) -> list[StaleAsset]:
    """Ingestion assets whose last materialization is older than the freshness bound at ``now`` (naive
    UTC). An asset never materialized is not stale: ingestion has not started yet."""
    stale = []
    for asset in ingestion_assets:
        records = instance.fetch_materializations(asset.key, limit=1).records
        if not records:
            continue
        last_update = datetime.fromtimestamp(records[0].timestamp, UTC).replace(tzinfo=None)
        if now - last_update > INGESTION_FRESHNESS:
            stale.append(StaleAsset(asset.key, last_update, records[0].storage_id))
    return stale


def stale_asset_alert(stale: StaleAsset, now: datetime) -> dict[str, Any]:
    """The alert for a stale raw asset, shaped like a row of the alerts mart (ongoing since its last load)."""
    name = stale.key.to_user_string()
    hours = round((now - stale.last_update) / timedelta(hours=1), 6)
    threshold = INGESTION_FRESHNESS / timedelta(hours=1)
    since = stale.last_update.isoformat(sep=" ")
    return jsonable_alert(
        {
            "alert_key": f"{STALE_LOAD_RULE}|{name}|{since}",
            "alert_type": "stale_ingestion",
            "alert_rule": STALE_LOAD_RULE,
            "severity": "warning",
            "message": f"raw_asset {name}: hours_since_last_load {hours:.1f} h (threshold {threshold:.1f} h) "
            f"since {since}",
            "subject_type": "raw_asset",
            "subject": name,
            "window_grain": "ongoing",
            "window_start": stale.last_update,
            "window_end": now,
            "measure": "hours_since_last_load",
            "unit": "hours",
            "observed_value": hours,
            "threshold_value": threshold,
            "evaluated_at": now,
        }
    )
