-- One row per LLM attempt. Incremental: a run rebuilds the calls started in its event window
-- (vars window_start/window_end; all history without them) and, every time, the calls still pending
-- in this table, so a price row added later prices them on the next normal run.

{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='span_id',
    on_schema_change='append_new_columns',
) }}

with

priced_calls as (

    select * from {{ ref('int_llm_calls_priced') }}

),

{% if is_incremental() %}
pending_calls as (

    select span_id from {{ this }}
    where cost_status = 'pending'

),
{% endif %}

selected_calls as (

    select * from priced_calls
    where {{ in_event_window('started_at') }}

    {% if is_incremental() %}
        union

        select * from priced_calls
        where span_id in (select pending_calls.span_id from pending_calls)
    {% endif %}

),

final as (

    select
        -- ids
        span_id,
        trace_id,
        parent_span_id,
        organization_id,
        conversation_id,
        price_id,

        -- attempt
        workflow,
        span_name,
        provider,
        model,
        service_tier,
        attempt,
        status,
        error_type,
        duration_ms,

        -- tokens
        input_tokens,
        uncached_input_tokens,
        cache_read_tokens,
        cache_write_tokens,
        cache_write_5m_tokens,
        cache_write_1h_tokens,
        output_tokens,
        reasoning_tokens,

        -- money
        input_cost_usd,
        cache_read_cost_usd,
        cache_write_cost_usd,
        output_cost_usd,
        reasoning_cost_usd,
        computed_cost_usd,
        provider_reported_cost_usd,
        reported_minus_computed_cost_usd,
        cost_usd,
        cost_status,

        -- timestamps
        started_at,
        call_date

    from selected_calls

)

select * from final
