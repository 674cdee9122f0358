-- One row per trace: timing per span kind, LLM attempts and failovers, the final attempt, and the
-- trace's cost from int_llm_calls_priced (costs are summed here, never computed).

{%- set span_kinds = ['request', 'retrieval', 'llm', 'postprocess', 'tool'] %}
{%- set first_span_order = ['started_at', 'span_id'] %}
{#- an attempt without a number sorts before attempt 1 -#}
{%- set final_attempt_order = ['started_at', 'coalesce(attempt, 0)', 'span_id'] %}

{{ config(event_time='started_at') }}

with

-- Only the columns summarized: spans carry their payloads.
spans as (

    select
        trace_id,
        span_id,
        organization_id,
        conversation_id,
        workflow,
        kind,
        status,
        duration_ms,
        started_at,
        {{ dbt.dateadd('millisecond', 'coalesce(duration_ms, 0)', 'started_at') }} as ended_at

    from {{ ref('stg_platform__spans') }}
    where trace_id is not null

),

llm_calls as (

    select
        trace_id,
        span_id,
        provider,
        model,
        attempt,
        status,
        cost_status,
        cost_usd,
        started_at

    from {{ ref('int_llm_calls_priced') }}
    where trace_id is not null

),

span_totals as (

    select
        trace_id,
        -- the trace's first span (the earliest; the span id breaks ties) says whose trace it is
        {{ first_by('organization_id', first_span_order) }} as organization_id,
        {{ first_by('conversation_id', first_span_order) }} as conversation_id,
        {{ first_by('workflow', first_span_order) }} as workflow,
        count(*) as spans,
        min(started_at) as started_at,
        max(ended_at) as ended_at,
        -- dbt's cross-database datediff: one long line, and a float on some warehouses
        cast(
            {{ dbt.datediff('min(started_at)', 'max(ended_at)', 'millisecond') }} as bigint  -- noqa: LT05
        ) as duration_ms,
        {% for kind in span_kinds -%}
            cast(
                coalesce(sum(case when kind = '{{ kind }}' then duration_ms end), 0) as bigint
            ) as {{ kind }}_duration_ms,
        {% endfor -%}
        count(case when kind <> 'llm' and status = 'error' then 1 end) as failed_other_spans

    from spans

    group by trace_id

),

llm_totals as (

    select
        trace_id,
        -- the final attempt is the last one started; the attempt number, then the span id, break ties
        {{ last_by('provider', final_attempt_order) }} as final_provider,
        {{ last_by('model', final_attempt_order) }} as final_model,
        {{ last_by('status', final_attempt_order) }} as final_attempt_status,
        count(*) as llm_attempts,
        count(case when attempt > 1 then 1 end) as failovers,
        count(case when status = 'error' then 1 end) as failed_llm_attempts,
        count(case when cost_status = 'pending' then 1 end) as pending_calls,
        {{ money('coalesce(sum(cost_usd), 0)') }} as cost_usd,
        {{ money("coalesce(sum(case when status = 'error' then cost_usd end), 0)") }} as wasted_cost_usd

    from llm_calls

    group by trace_id

),

final as (

    select
        -- ids
        span_totals.trace_id,
        span_totals.organization_id,
        span_totals.conversation_id,

        -- trace
        span_totals.workflow,
        llm_totals.final_provider,
        llm_totals.final_model,
        case
            when llm_totals.final_attempt_status = 'error' or span_totals.failed_other_spans > 0
                then 'error'
            else 'ok'
        end as status,

        -- durations
        span_totals.duration_ms,
        {% for kind in span_kinds -%}
            span_totals.{{ kind }}_duration_ms,
        {% endfor %}
        -- counts
        span_totals.spans,
        coalesce(llm_totals.llm_attempts, 0) as llm_attempts,
        coalesce(llm_totals.failovers, 0) as failovers,
        coalesce(llm_totals.failed_llm_attempts, 0) as failed_llm_attempts,
        coalesce(llm_totals.pending_calls, 0) as pending_calls,

        -- money: priced and provider-reported calls only; pending_calls says what is missing
        {{ money('coalesce(llm_totals.cost_usd, 0)') }} as cost_usd,
        {{ money('coalesce(llm_totals.wasted_cost_usd, 0)') }} as wasted_cost_usd,

        -- timestamps
        span_totals.started_at,
        span_totals.ended_at,
        cast(span_totals.started_at as date) as trace_date

    from span_totals

    left join llm_totals
        on span_totals.trace_id = llm_totals.trace_id

)

select * from final
