-- The header of every closed statement as it was closed (see billing_closed_months): its organization's
-- name and plan then, its total and its statement_hash, which billing_statements must keep reproducing.

{{ config(
    materialized='incremental',
    full_refresh=false,
    incremental_strategy='append',
    schema='billing',
) }}

select
    -- grain
    cast(null as date) as billing_month,
    cast(null as varchar) as organization_id,

    -- as closed
    cast(null as varchar) as organization_name,
    cast(null as varchar) as plan,
    cast(null as varchar) as rate_card_id,
    cast(null as numeric(38, 18)) as total_usd,
    cast(null as varchar) as statement_hash
where false
