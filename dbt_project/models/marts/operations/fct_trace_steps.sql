-- One row per span, laid out in the order its trace ran (request, retrieval, each LLM attempt, post-
-- processing, ...) with timings, tokens, cost and the redacted payloads: `where trace_id = '...'
-- order by step_number` shows how one request was handled.
-- Incremental (delete+insert on trace_id): a run rebuilds every trace with a span in its event window,
-- from all of that trace's spans (so the step numbers stay whole), and every trace whose calls' cost no
-- longer agrees with fct_llm_calls (a call priced late or re-priced by a price correction, whatever its
-- day), as fct_traces does.

{{ config(
    event_time='started_at',
    materialized='incremental',
    unique_key='trace_id',
) }}

with

llm_calls as (

    select * from {{ ref('fct_llm_calls') }}

),

touched_traces as (

    -- the spans read here and below from the model itself, not from one CTE: DuckDB computes a CTE
    -- read twice whole, every span of the history with its payloads
    select distinct trace_id from {{ ref('stg_platform__spans') }}
    where trace_id is not null and {{ in_event_window('started_at') }}

    {% if is_incremental() %}
        union

        select stored_steps.trace_id from {{ this }} as stored_steps
        inner join llm_calls
            on stored_steps.span_id = llm_calls.span_id
        where
            stored_steps.kind = 'llm'
            and (
                stored_steps.cost_status is distinct from llm_calls.cost_status
                or stored_steps.cost_usd is distinct from llm_calls.cost_usd
                or stored_steps.price_id is distinct from llm_calls.price_id
            )
    {% endif %}

),

touched_spans as (

    select * from {{ ref('stg_platform__spans') }}
    where trace_id in (select touched_traces.trace_id from touched_traces)

),

step_order as (

    -- numbered on narrow rows: a window over whole spans would sort every payload with them
    select
        touched_spans.span_id,
        min(touched_spans.started_at) over (partition by touched_spans.trace_id) as trace_started_at,
        -- in start order; at the same instant the request span first, then attempts in their order
        row_number() over (
            partition by touched_spans.trace_id
            order by
                touched_spans.started_at,
                case when touched_spans.kind = 'request' then 0 else 1 end,
                coalesce(llm_calls.attempt, 0),
                touched_spans.span_id
        ) as step_number

    from touched_spans

    left join llm_calls
        on touched_spans.span_id = llm_calls.span_id

),

steps as (

    select
        spans.*,
        llm_calls.provider,
        llm_calls.model,
        llm_calls.service_tier,
        llm_calls.attempt,
        llm_calls.error_type,
        llm_calls.input_tokens,
        llm_calls.cache_read_tokens,
        llm_calls.cache_write_tokens,
        llm_calls.output_tokens,
        llm_calls.reasoning_tokens,
        llm_calls.price_id,
        llm_calls.cost_status,
        llm_calls.cost_usd,
        {{ dbt.dateadd('millisecond', 'coalesce(spans.duration_ms, 0)', 'spans.started_at') }} as ended_at,
        step_order.trace_started_at,
        step_order.step_number

    from touched_spans as spans

    inner join step_order
        on spans.span_id = step_order.span_id

    left join llm_calls
        on spans.span_id = llm_calls.span_id

),

final as (

    select
        -- ids
        trace_id,
        step_number,
        span_id,
        parent_span_id,
        organization_id,
        conversation_id,

        -- step
        workflow,
        kind,
        span_name,
        status,

        -- llm attempt (NULL for other kinds)
        provider,
        model,
        service_tier,
        attempt,
        error_type,

        -- timings
        -- dbt's cross-database datediff: one long line, and a float on some warehouses
        cast(
            {{ dbt.datediff('trace_started_at', 'started_at', 'millisecond') }} as bigint  -- noqa: LT05
        ) as start_offset_ms,
        duration_ms,

        -- tokens
        input_tokens,
        cache_read_tokens,
        cache_write_tokens,
        output_tokens,
        reasoning_tokens,

        -- money
        price_id,
        cost_status,
        cost_usd,

        -- payloads as stored: redacted at ingestion; one over 16 KiB is kept as its first 16,384
        -- characters only, in payload_truncated_text
        {{ json_text('payload', 'input') }} as payload_input,
        {{ json_text('payload', 'output') }} as payload_output,
        case
            when {{ json_text('payload', 'truncated') }} = 'true' then {{ json_text('payload', 'text') }}
        end as payload_truncated_text,
        cast(attributes as varchar) as attributes,

        -- timestamps
        started_at,
        ended_at,
        trace_started_at,
        cast(trace_started_at as date) as trace_date

    from steps

)

select * from final
