-- LLM attempts with their token usage split into disjoint billing buckets, per the source contract:
-- input_tokens includes cache reads and writes; output_tokens includes reasoning tokens.

{{ config(event_time='started_at') }}

with

source as (

    -- spans of every kind, deduplicated before the filter on kind: a correction may change a span's kind
    select * from {{ ref('base_platform__traces') }}

),

llm_spans as (

    select
        *,
        -- missing usage counts are 0 (the contract's rule)
        coalesce(llm__usage__input_tokens, 0) as input_tokens,
        coalesce(llm__usage__cache_read_input_tokens, 0) as cache_read_tokens,
        coalesce(llm__usage__cache_creation_input_tokens, 0) as cache_write_tokens,
        coalesce(llm__usage__cache_creation_1h_input_tokens, 0) as cache_write_1h_tokens,
        coalesce(llm__usage__output_tokens, 0) as output_tokens,
        coalesce(llm__usage__reasoning_tokens, 0) as reasoning_tokens

    from source

    where kind = 'llm'

),

renamed as (

    select
        -- ids
        span_id,
        trace_id,
        parent_span_id,
        organization_id,
        conversation_id,

        -- attempt
        workflow,
        name as span_name,
        status,
        llm__provider as provider,
        llm__model as model,
        llm__service_tier as service_tier,
        llm__attempt as attempt,
        llm__error_type as error_type,
        duration_ms,

        -- tokens: disjoint buckets
        input_tokens - cache_read_tokens - cache_write_tokens as uncached_input_tokens,
        cache_read_tokens,
        cache_write_tokens - cache_write_1h_tokens as cache_write_5m_tokens,
        cache_write_1h_tokens,
        output_tokens - reasoning_tokens as non_reasoning_output_tokens,
        reasoning_tokens,

        -- tokens: as reported
        input_tokens,
        cache_write_tokens,
        output_tokens,

        -- money
        {{ money_from_double('llm__provider_reported_cost_usd') }} as provider_reported_cost_usd,

        -- timestamps
        started_at,
        _loaded_at as loaded_at,

        -- load metadata
        _batch_id as batch_id

    from llm_spans

)

select * from renamed
