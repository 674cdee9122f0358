"""The tokenbooks code location: every asset, check, job, schedule and resource, assembled."""

import dagster as dg

from orchestration.assets.dbt import dbt_models
from orchestration.assets.ingestion import ingestion_assets, shared_load_tables
from orchestration.assets.statements import statement_files
from orchestration.checks import freshness_checks_sensor, raw_freshness_checks
from orchestration.resources import build_resources
from orchestration.run_recovery import crashed_runs_sensor, run_lock_executor
from orchestration.schedules import daily_job, daily_schedule, monthly_statements_schedule, statements_job
from orchestration.sensors import alert_deliveries, alert_delivery_job, alert_retry_sensor, alerts_mart_sensor

defs = dg.Definitions(
    assets=[*ingestion_assets, *shared_load_tables, dbt_models, statement_files, alert_deliveries],
    asset_checks=raw_freshness_checks,
    jobs=[daily_job, statements_job, alert_delivery_job],
    schedules=[daily_schedule, monthly_statements_schedule],
    sensors=[alerts_mart_sensor, alert_retry_sensor, freshness_checks_sensor, crashed_runs_sensor],
    resources=build_resources(),
    # every run (from the UI, a schedule or a sensor) holds a lock its process's death releases: run_recovery
    executor=run_lock_executor,
)
