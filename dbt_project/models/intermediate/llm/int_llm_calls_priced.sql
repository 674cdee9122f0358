-- The one place where LLM calls meet prices: price lookup and cost arithmetic happen here and nowhere
-- else; every mart reads its money from this model.
--
-- Lookup, model level (int_pricing__price_list, on distinct reported models): the reported id resolves to
-- a priced model through model_match_rules (exact, else longest prefix); its candidate rows are its
-- price_overrides (exact id) and the provider_prices of the priced model.
-- Lookup, call level: among the candidate rows valid at the call's started_at
-- (valid_from_at <= started_at < valid_to_at, NULL = open; for a time-of-day row, also inside its window of
-- the UTC day), an override beats a provider price; the
-- call's service tier beats the standard (`default`) rate, which is used when the tier has no row
-- (service_tier_fallback); among the tier's rows, the highest long-context threshold the call's input
-- (cache included) is strictly above wins, the base rate (threshold 0) always qualifying.
-- Components: each token bucket at its rate (reasoning at its own rate where the row has one), plus the
-- row's fee per request, once per call; they add up to computed_cost_usd exactly.
-- Arithmetic: exact decimals only. A unit price per token is the per-million price multiplied by
-- 0.000001 (never divided: DuckDB turns decimal division into DOUBLE), and every amount is cast
-- with the `money` macro (DECIMAL(38,18)).

{{ config(event_time='started_at') }}

with

llm_spans as (

    select * from {{ ref('stg_platform__llm_spans') }}

),

price_list as (

    select * from {{ ref('int_pricing__price_list') }}

),

model_price_lists as (

    -- per reported model: its priced model and the fingerprint of its price rows
    select distinct
        provider,
        model,
        priced_model,
        price_list_hash

    from price_list

),

llm_calls as (

    select
        *,
        -- Anthropic reports its standard tier as `standard`, OpenAI as `default`; absent = standard
        case
            when service_tier is null or service_tier = 'standard' then 'default'
            else service_tier
        end as requested_service_tier,
        {{ utc_second_of_day('started_at') }} as started_second_of_day

    from llm_spans

),

applicable_prices as (

    -- every call beside each row that can price it (one row of NULLs when none can), ranked. The calls are
    -- read once, through a left join: a reader's filter on them (a run's event window) then reaches the spans
    -- before the lookup. Read twice (the ranking, then the calls beside their winning row), they were
    -- computed whole on every read.
    select
        llm_calls.*,
        price_list.price_id,
        price_list.price_hash,
        price_list.price_source,
        price_list.is_override,
        price_list.service_tier as price_service_tier,
        -- USD per token for each bucket of the row, with the seeds' documented fallbacks for empty rates:
        -- cache read and 5-minute write -> input, 1-hour write -> 5-minute write, reasoning -> output
        {{ money('price_list.input_usd_per_mtok * 0.000001') }} as input_usd_per_token,
        {{ money('coalesce(price_list.cache_read_usd_per_mtok, price_list.input_usd_per_mtok) * 0.000001') }}
            as cache_read_usd_per_token,
        {{ money(
            'coalesce(price_list.cache_write_5m_usd_per_mtok, price_list.input_usd_per_mtok) * 0.000001'
        ) }} as cache_write_5m_usd_per_token,
        {{ money(
            'coalesce(price_list.cache_write_1h_usd_per_mtok, price_list.cache_write_5m_usd_per_mtok,'
            ~ ' price_list.input_usd_per_mtok) * 0.000001'
        ) }} as cache_write_1h_usd_per_token,
        {{ money('price_list.output_usd_per_mtok * 0.000001') }} as output_usd_per_token,
        {{ money('coalesce(price_list.reasoning_usd_per_mtok, price_list.output_usd_per_mtok) * 0.000001') }}
            as reasoning_usd_per_token,
        -- no fee on the row is a fee of 0; no row at all leaves the call unpriced (NULL)
        {{ money(
            'case when price_list.price_id is not null'
            ~ ' then coalesce(price_list.request_usd_per_thousand, 0) * 0.001 end'
        ) }} as request_usd_per_call,
        -- one partition per call; its start and model, constant within it, are partition keys as well so that
        -- a reader's filter on them (a run's window, the models to re-price) is applied before the ranking
        row_number() over (
            partition by llm_calls.span_id, llm_calls.started_at, llm_calls.provider, llm_calls.model
            order by
                case when price_list.is_override then 0 else 1 end asc,
                case
                    when price_list.service_tier = llm_calls.requested_service_tier then 0 else 1
                end asc,
                price_list.input_tokens_above desc,
                price_list.price_id asc
        ) as preference

    from llm_calls

    -- a reported model that no row can price has one row of NULLs in the list: the tier condition drops it
    left join price_list
        on
            llm_calls.provider = price_list.provider
            and llm_calls.model = price_list.model
            and price_list.service_tier in (llm_calls.requested_service_tier, 'default')
            and llm_calls.started_at >= price_list.valid_from_at
            and (price_list.valid_to_at is null or llm_calls.started_at < price_list.valid_to_at)
            and (
                price_list.utc_second_from is null
                or (
                    llm_calls.started_second_of_day >= price_list.utc_second_from
                    and llm_calls.started_second_of_day < price_list.utc_second_to
                )
            )
            and (
                price_list.input_tokens_above = 0
                or llm_calls.input_tokens > price_list.input_tokens_above
            )

),

calls_with_prices as (

    -- each call with its winning row (the first in preference)
    select
        applicable_prices.*,
        model_price_lists.priced_model,
        model_price_lists.price_list_hash

    from applicable_prices

    left join model_price_lists
        on
            applicable_prices.provider = model_price_lists.provider
            and applicable_prices.model = model_price_lists.model

    where applicable_prices.preference = 1

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
        {{ money('reasoning_tokens * reasoning_usd_per_token') }} as reasoning_cost_usd,
        request_usd_per_call as request_cost_usd,
        -- free only by an explicit override whose every rate (fallbacks applied) is 0
        coalesce(
            is_override
            and input_usd_per_token = 0
            and cache_read_usd_per_token = 0
            and cache_write_5m_usd_per_token = 0
            and cache_write_1h_usd_per_token = 0
            and output_usd_per_token = 0
            and reasoning_usd_per_token = 0
            and request_usd_per_call = 0,
            false
        ) as is_zero_rated

    from calls_with_prices

),

computed_costs as (

    select
        *,
        {{ money(
            'input_cost_usd + cache_read_cost_usd + cache_write_cost_usd'
            ~ ' + output_cost_usd + reasoning_cost_usd + request_cost_usd'
        ) }} as computed_cost_usd,
        case
            when provider_reported_cost_usd is not null then 'provider_reported'
            when price_id is null then 'pending'
            when is_zero_rated then 'zero_rated'
            else 'priced'
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

        -- price applied
        priced_model,
        price_source,
        -- the reported tier has no price: the standard rate was applied (NULL without a price)
        price_service_tier <> requested_service_tier as service_tier_fallback,
        price_hash,
        price_list_hash,

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
        request_usd_per_call,

        -- computed cost per component (NULL without a price)
        input_cost_usd,
        cache_read_cost_usd,
        cache_write_cost_usd,
        output_cost_usd,
        reasoning_cost_usd,
        request_cost_usd,
        computed_cost_usd,

        -- cost of record: the provider's own figure wins; NULL only while pending, never 0
        provider_reported_cost_usd,
        cost_status,
        {{ money(
            "case when cost_status = 'provider_reported' then provider_reported_cost_usd"
            ~ " when cost_status in ('priced', 'zero_rated') then computed_cost_usd end"
        ) }} as cost_usd,
        {{ money('provider_reported_cost_usd - computed_cost_usd') }} as reported_minus_computed_cost_usd,
        {{ money('abs(provider_reported_cost_usd - computed_cost_usd)') }} as cost_discrepancy_usd,

        -- timestamps
        started_at,
        cast(started_at as date) as call_date

    from computed_costs

)

select * from final
