-- One row per LLM attempt. Incremental: a run rebuilds the calls started in its event window
-- (vars window_start/window_end; all history without them), and, whatever the window:
--   * every call still pending here, so a price row added later prices it on the next normal run;
--   * every call of a reported model whose price list changed since its calls were priced (a stored
--     price_list_hash that differs from the current one: a row's rates or validity edited, a row added
--     or removed, an override, a match rule), so a price correction re-prices exactly the history that
--     could use the corrected rows and nothing else.

-- Read only in incremental runs; declared so dbt always knows it.
-- depends_on: {{ ref('int_pricing__price_list') }}

{{ config(
    event_time='started_at',
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
stored_models as (

    select distinct
        provider,
        model,
        price_list_hash

    from {{ this }}

),

current_price_lists as (

    -- each reported model's fingerprint now, as int_llm_calls_priced stamps it on the model's calls
    select distinct
        provider,
        model,
        price_list_hash

    from {{ ref('int_pricing__price_list') }}

),

repriced_models as (

    select
        stored_models.provider,
        stored_models.model

    from stored_models

    inner join current_price_lists
        on
            stored_models.provider = current_price_lists.provider
            and stored_models.model = current_price_lists.model

    where stored_models.price_list_hash is distinct from current_price_lists.price_list_hash

),

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

        union

        select priced_calls.* from priced_calls
        inner join repriced_models
            on
                priced_calls.provider = repriced_models.provider
                and priced_calls.model = repriced_models.model
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

        -- price applied
        priced_model,
        price_source,
        service_tier_fallback,
        price_hash,
        price_list_hash,

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
        request_cost_usd,
        computed_cost_usd,
        provider_reported_cost_usd,
        reported_minus_computed_cost_usd,
        cost_discrepancy_usd,
        cost_usd,
        cost_status,

        -- timestamps
        started_at,
        call_date

    from selected_calls

)

select * from final
