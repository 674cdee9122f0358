"""The tokenbooks code location: every asset, check, job, schedule and resource, assembled."""

import dagster as dg

from orchestration.assets.dbt import dbt_models
from orchestration.assets.ingestion import ingestion_assets, shared_load_tables
from orchestration.assets.statements import statement_files
from orchestration.resources import build_resources
from orchestration.schedules import daily_job, daily_schedule, monthly_statements_schedule, statements_job

defs = dg.Definitions(
    assets=[*ingestion_assets, *shared_load_tables, dbt_models, statement_files],
    jobs=[daily_job, statements_job],
    schedules=[daily_schedule, monthly_statements_schedule],
    resources=build_resources(),
)
