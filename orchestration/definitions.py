"""The tokenbooks code location: every asset, check, job, schedule and resource, assembled."""

import dagster as dg

from orchestration.assets.dbt import dbt_models
from orchestration.assets.ingestion import ingestion_assets, shared_load_tables
from orchestration.resources import build_resources
from orchestration.schedules import daily_job, daily_schedule

defs = dg.Definitions(
    assets=[*ingestion_assets, *shared_load_tables, dbt_models],
    jobs=[daily_job],
    schedules=[daily_schedule],
    resources=build_resources(),
)
