-- The components (five token buckets and the request fee) add up exactly (no rounding anywhere) to the
-- computed cost.

with

llm_calls as (

    select * from {{ ref('fct_llm_calls') }}

)

select
    span_id,
    computed_cost_usd,
    input_cost_usd + cache_read_cost_usd + cache_write_cost_usd + output_cost_usd + reasoning_cost_usd
    + request_cost_usd as component_cost_total_usd

from llm_calls

where
    computed_cost_usd is not null
    and computed_cost_usd
    <> input_cost_usd + cache_read_cost_usd + cache_write_cost_usd + output_cost_usd + reasoning_cost_usd
    + request_cost_usd
