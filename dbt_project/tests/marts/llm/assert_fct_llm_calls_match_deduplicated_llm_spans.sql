-- Every LLM span in raw, deduplicated independently of staging (the last delivery of each span_id),
-- is exactly one row of fct_llm_calls, and the mart holds nothing else; and the ledger's books balance:
-- deduplicated raw llm spans = priced + provider_reported + pending + zero_rated.

with

raw_spans as (

    select * from {{ source('raw', 'traces') }}

),

llm_calls as (

    select * from {{ ref('fct_llm_calls') }}

),

last_deliveries as (

    select
        span_id,
        max(_delivery_seq) as last_delivery_seq

    from raw_spans

    group by span_id

),

raw_llm_spans as (

    select raw_spans.span_id

    from raw_spans

    inner join last_deliveries
        on
            raw_spans.span_id = last_deliveries.span_id
            and raw_spans._delivery_seq = last_deliveries.last_delivery_seq

    where raw_spans.kind = 'llm'

),

missing_from_mart as (

    select
        span_id,
        'missing from fct_llm_calls' as problem

    from raw_llm_spans

    where span_id not in (select llm_calls.span_id from llm_calls)

),

not_in_raw as (

    select
        span_id,
        'not a deduplicated raw llm span' as problem

    from llm_calls

    where span_id not in (select raw_llm_spans.span_id from raw_llm_spans)

),

raw_counts as (

    select count(*) as llm_spans

    from raw_llm_spans

),

ledger_counts as (

    select
        count(case when cost_status = 'priced' then 1 end)
        + count(case when cost_status = 'provider_reported' then 1 end)
        + count(case when cost_status = 'pending' then 1 end)
        + count(case when cost_status = 'zero_rated' then 1 end) as accounted_calls

    from llm_calls

),

unbalanced_statuses as (

    select
        cast(null as {{ dbt.type_string() }}) as span_id,
        'priced + provider_reported + pending + zero_rated <> deduplicated raw llm spans' as problem

    from raw_counts

    cross join ledger_counts

    where raw_counts.llm_spans <> ledger_counts.accounted_calls

)

select * from missing_from_mart
union all
select * from not_in_raw
union all
select * from unbalanced_statuses
