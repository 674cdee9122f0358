-- The one place where LLM calls meet prices: price lookup and cost arithmetic happen here and nowhere
-- else; every mart reads its money from this model.
--
-- Lookup: exact provider + model, date-effective on the call's own started_at
-- (valid_from_at <= started_at < valid_to_at, NULL valid_to_at = open).
-- Arithmetic: exact decimals only. A unit price per token is the per-million price multiplied by
-- 0.000001 (never divided: DuckDB turns decimal division into DOUBLE), and every amount is cast
-- with the `money` macro (DECIMAL(38,18)).

with

llm_spans as (

    select * from {{ ref('stg_platform__llm_spans') }}

),

model_prices as (

    select * from {{ ref('stg_pricing__model_prices') }}

),

unit_prices as (

    -- USD per token for each bucket, with the seed's documented fallbacks for empty rates
    select
        price_id,
        provider,
        model,
        valid_from_at,
        valid_to_at,
        {{ money('input_usd_per_mtok * 0.000001') }} as input_usd_per_token,
        {{ money('coalesce(cache_read_usd_per_mtok, input_usd_per_mtok) * 0.000001') }}
            as cache_read_usd_per_token,
        {{ money('coalesce(cache_write_usd_per_mtok, input_usd_per_mtok) * 0.000001') }}
            as cache_write_5m_usd_per_token,
        {{ money(
            'coalesce(cache_write_1h_usd_per_mtok, cache_write_usd_per_mtok, input_usd_per_mtok)'
            ~ ' * 0.000001'
        ) }} as cache_write_1h_usd_per_token,
        {{ money('output_usd_per_mtok * 0.000001') }} as output_usd_per_token,
        {{ money('coalesce(reasoning_usd_per_mtok, output_usd_per_mtok) * 0.000001') }}
            as reasoning_usd_per_token

    from model_prices

),

calls_with_prices as (

    select
        llm_spans.*,
        unit_prices.price_id,
        unit_prices.input_usd_per_token,
        unit_prices.cache_read_usd_per_token,
        unit_prices.cache_write_5m_usd_per_token,
        unit_prices.cache_write_1h_usd_per_token,
        unit_prices.output_usd_per_token,
        unit_prices.reasoning_usd_per_token

    from llm_spans

    left join unit_prices
        on
            llm_spans.provider = unit_prices.provider
            and llm_spans.model = unit_prices.model
            and llm_spans.started_at >= unit_prices.valid_from_at
            and (unit_prices.valid_to_at is null or llm_spans.started_at < unit_prices.valid_to_at)

),

bucket_costs as (

    select
        *,
        {{ money('uncached_input_tokens * input_usd_per_token') }} as input_cost_usd,
        {{ money('cache_read_tokens * cache_read_usd_per_token') }} as cache_read_cost_usd,
        {{ money(
            'cache_write_5m_tokens * cache_write_5m_usd_per_token'
            ~ ' + cache_write_1h_tokens * cache_write_1h_usd_per_token'
        ) }} as cache_write_cost_usd,
        {{ money('non_reasoning_output_tokens * output_usd_per_token') }} as output_cost_usd,
        {{ money('reasoning_tokens * reasoning_usd_per_token') }} as reasoning_cost_usd

    from calls_with_prices

),

computed_costs as (

    select
        *,
        {{ money(
            'input_cost_usd + cache_read_cost_usd + cache_write_cost_usd'
            ~ ' + output_cost_usd + reasoning_cost_usd'
        ) }} as computed_cost_usd,
        case
            when provider_reported_cost_usd is not null then 'provider_reported'
            when price_id is not null then 'priced'
            else 'pending'
        end as cost_status

    from bucket_costs

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

        -- tokens (buckets are disjoint; input and output totals as reported)
        input_tokens,
        uncached_input_tokens,
        cache_read_tokens,
        cache_write_tokens,
        cache_write_5m_tokens,
        cache_write_1h_tokens,
        output_tokens,
        non_reasoning_output_tokens,
        reasoning_tokens,

        -- unit prices applied (USD per token)
        input_usd_per_token,
        cache_read_usd_per_token,
        cache_write_5m_usd_per_token,
        cache_write_1h_usd_per_token,
        output_usd_per_token,
        reasoning_usd_per_token,

        -- computed cost per bucket (NULL without a price)
        input_cost_usd,
        cache_read_cost_usd,
        cache_write_cost_usd,
        output_cost_usd,
        reasoning_cost_usd,
        computed_cost_usd,

        -- cost of record: the provider's own figure wins; NULL only while pending, never 0
        provider_reported_cost_usd,
        cost_status,
        {{ money(
            "case cost_status when 'provider_reported' then provider_reported_cost_usd"
            ~ " when 'priced' then computed_cost_usd end"
        ) }} as cost_usd,
        {{ money('provider_reported_cost_usd - computed_cost_usd') }} as reported_minus_computed_cost_usd,

        -- timestamps
        started_at,
        cast(started_at as date) as call_date

    from computed_costs

)

select * from final
