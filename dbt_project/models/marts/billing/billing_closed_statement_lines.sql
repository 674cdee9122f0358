-- Every line of every closed statement, frozen as it was closed (see billing_closed_months): the columns of
-- billing_statement_lines, which reads them back unchanged for closed months.

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
    cast(null as bigint) as line_number,
    cast(null as varchar) as line_id,

    -- line
    cast(null as varchar) as line_type,
    cast(null as varchar) as description,
    cast(null as numeric(38, 18)) as quantity,
    cast(null as varchar) as unit,
    cast(null as numeric(38, 18)) as unit_price_usd,
    cast(null as numeric(38, 18)) as amount_usd,

    -- what the line is about
    cast(null as date) as reference_month,
    cast(null as varchar) as adjusted_line_id,
    cast(null as varchar) as provider,
    cast(null as varchar) as model,
    cast(null as bigint) as requests,
    cast(null as bigint) as calls,
    cast(null as bigint) as tokens
where false
