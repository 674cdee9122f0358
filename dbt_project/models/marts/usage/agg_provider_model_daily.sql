-- One row per provider, model and UTC day with any LLM call. A call counts on the day of its own
-- started_at, every attempt included (failed ones too: they take time and may bill). Rebuilt whole from
-- fct_llm_calls on every run, so a call priced late shows on its own day.

with

llm_calls as (

    select * from {{ ref('fct_llm_calls') }}

),

final as (

    select
        -- grain
        provider,
        model,
        call_date,

        -- calls
        count(*) as calls,
        count(case when status = 'error' then 1 end) as failed_calls,
        {{ ratio("count(case when status = 'error' then 1 end)", 'count(*)') }} as failure_rate,
        count(case when attempt > 1 then 1 end) as failover_calls,
        count(case when cost_status = 'pending' then 1 end) as pending_calls,
        count(distinct organization_id) as organizations,

        -- latency of every attempt, then of the successful ones only
        {{ latency_percentiles('duration_ms') }},
        {{ latency_percentiles("case when status = 'ok' then duration_ms end", 'ok_latency') }},

        -- tokens
        cast(sum(input_tokens) as bigint) as input_tokens,
        cast(sum(uncached_input_tokens) as bigint) as uncached_input_tokens,
        cast(sum(cache_read_tokens) as bigint) as cache_read_tokens,
        cast(sum(cache_write_tokens) as bigint) as cache_write_tokens,
        cast(sum(output_tokens) as bigint) as output_tokens,
        cast(sum(reasoning_tokens) as bigint) as reasoning_tokens,

        -- money: priced and provider-reported calls; pending_calls says what is not in it yet
        {{ money('coalesce(sum(cost_usd), 0)') }} as cost_usd,
        {{ money("coalesce(sum(case when status = 'error' then cost_usd end), 0)") }} as wasted_cost_usd

    from llm_calls

    group by provider, model, call_date

)

select * from final
