-- One row per LLM attempt. Incremental: a run rebuilds the calls started in its event window
-- (vars window_start/window_end; all history without them), and, whatever the window, every call of a
-- reported model whose price list changed since its calls were priced (a stored price_list_hash that differs
-- from the current one: a row's rates or validity edited, a row added or removed, an override, a match rule),
-- so a price correction re-prices exactly the history that could use the corrected rows and nothing else.
-- That includes pending calls once a price row can price them: every reported model has a price list (an
-- empty one while nothing prices it), whose fingerprint then changes.

-- Read only in incremental runs; declared so dbt always knows it.
-- depends_on: {{ ref('int_pricing__price_list') }}

{{ config(
    event_time='started_at',
    materialized='incremental',
    unique_key='span_id',
) }}

{#- The re-priced models are looked up before the build, so that the priced calls are read below with plain
    filters only: read through a CTE or a join twice, they were computed whole, and every run priced the
    whole history again. -#}
{%- set repriced_models = [] -%}
{%- if execute and is_incremental() -%}
    {%- set repriced_query -%}
        with stored_models as (
            select distinct provider, model, price_list_hash from {{ this }}
        ),

        current_price_lists as (
            -- each reported model's fingerprint now, as int_llm_calls_priced stamps it on the model's calls
            select distinct provider, model, price_list_hash from {{ ref('int_pricing__price_list') }}
        )

        select stored_models.provider, stored_models.model
        from stored_models
        inner join current_price_lists
            on
                stored_models.provider = current_price_lists.provider
                and stored_models.model = current_price_lists.model
        where stored_models.price_list_hash is distinct from current_price_lists.price_list_hash
        order by stored_models.provider, stored_models.model
    {%- endset -%}
    {%- set repriced_models = run_query(repriced_query).rows -%}
{%- endif %}

with

selected_calls as (

    select * from {{ ref('int_llm_calls_priced') }}
    where {{ in_event_window('started_at') }}

    {%- if repriced_models %}
        union

        select * from {{ ref('int_llm_calls_priced') }}
        where
            {%- for provider, model in repriced_models %}
                (
                    provider = {{ sql_literal(provider) }}
                    and model = {{ sql_literal(model) }}
                ){{ " or" if not loop.last }}
            {%- endfor %}
    {%- endif %}

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
