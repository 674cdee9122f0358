-- A call without a price is pending with a NULL cost (never 0, which would look free), and only
-- pending calls lack a cost.

with

llm_calls as (

    select * from {{ ref('fct_llm_calls') }}

)

select
    span_id,
    cost_status,
    price_id,
    cost_usd

from llm_calls

where
    (cost_status = 'pending' and (cost_usd is not null or price_id is not null))
    or (cost_status <> 'pending' and cost_usd is null)
