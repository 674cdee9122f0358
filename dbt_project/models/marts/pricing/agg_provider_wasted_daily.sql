-- One row per provider and UTC day with LLM calls: how much of the day's spend went to failed attempts
-- (failover spend: a timed-out or erroring attempt the provider bills although its answer was never
-- used). A call counts on the day of its own started_at. Rebuilt whole from fct_llm_calls on every run,
-- so a call re-priced or priced late shows on its own day.

with

llm_calls as (

    select * from {{ ref('fct_llm_calls') }}

),

provider_days as (

    select
        provider,
        call_date as activity_date,
        count(*) as llm_calls,
        count(case when status = 'error' then 1 end) as failed_attempts,
        count(case when status = 'error' and input_tokens + output_tokens > 0 then 1 end)
            as failed_attempts_with_usage,
        count(case when status = 'error' and cost_status = 'pending' then 1 end) as pending_failed_attempts,
        cast(coalesce(sum(case when status = 'error' then input_tokens end), 0) as bigint)
            as wasted_input_tokens,
        cast(coalesce(sum(case when status = 'error' then output_tokens end), 0) as bigint)
            as wasted_output_tokens,
        {{ money('coalesce(sum(cost_usd), 0)') }} as cost_usd,
        {{ money("coalesce(sum(case when status = 'error' then cost_usd end), 0)") }} as wasted_cost_usd

    from llm_calls

    group by provider, call_date

)

select * from provider_days
