-- One row per reported (provider, model) with calls still pending (no price row applies and no cost
-- was reported): what an operator must price, how much usage waits on it and for how long. Ages are
-- measured at the build (dbt's run_started_at), the input of the pending-cost alert.

{%- set built_at = "cast('" ~ run_started_at.strftime('%Y-%m-%d %H:%M:%S') ~ "' as timestamp)" %}

with

llm_calls as (

    select * from {{ ref('fct_llm_calls') }}

),

pending_models as (

    select
        provider,
        model,
        -- the same for every call of a reported model (its pending calls are re-priced on every run)
        max(priced_model) as priced_model,
        count(*) as pending_calls,
        count(distinct organization_id) as organizations,
        cast(sum(input_tokens) as bigint) as input_tokens,
        cast(sum(uncached_input_tokens) as bigint) as uncached_input_tokens,
        cast(sum(cache_read_tokens) as bigint) as cache_read_tokens,
        cast(sum(cache_write_tokens) as bigint) as cache_write_tokens,
        cast(sum(output_tokens) as bigint) as output_tokens,
        cast(sum(reasoning_tokens) as bigint) as reasoning_tokens,
        min(started_at) as oldest_started_at,
        max(started_at) as newest_started_at

    from llm_calls

    where cost_status = 'pending'

    group by provider, model

),

pending_ages as (

    select
        *,
        {{ built_at }} as built_at,
        {{ dbt.datediff('oldest_started_at', built_at, 'second') }} as oldest_pending_age_seconds,  -- noqa: LT05
        {{ dbt.datediff('newest_started_at', built_at, 'second') }} as newest_pending_age_seconds  -- noqa: LT05

    from pending_models

),

final as (

    select
        -- what waits for a price
        provider,
        model,
        priced_model,
        case
            when priced_model is null then 'unknown_model'
            else 'no_price_at_call_time'
        end as pending_reason,

        -- how much
        pending_calls,
        organizations,
        input_tokens,
        uncached_input_tokens,
        cache_read_tokens,
        cache_write_tokens,
        output_tokens,
        reasoning_tokens,

        -- since when (whole hours at the build)
        oldest_started_at,
        newest_started_at,
        built_at,
        cast(floor(oldest_pending_age_seconds / 3600.0) as bigint) as oldest_pending_age_hours,
        cast(floor(newest_pending_age_seconds / 3600.0) as bigint) as newest_pending_age_hours

    from pending_ages

)

select * from final
