-- The closed billing months: written only by the operation close_billing_month, never rebuilt by dbt
-- (incremental, full_refresh false: a run inserts nothing, --full-refresh leaves it alone).

{{ config(
    materialized='incremental',
    full_refresh=false,
    incremental_strategy='append',
    schema='billing',
) }}

select
    cast(null as date) as billing_month,
    cast(null as timestamp) as closed_at
where false
