-- What every organization's billing month would bill now, line by line, from the facts as they are:
-- closed months included (the statements compare them with what was closed to find adjustments),
-- adjustments excluded. Amounts are rounded to cents per line (round_to_cents); totals add rounded lines.
--
-- What bills: every request of the month counts towards the included requests (any status, 401 and 429
-- included: the contract counts every request); LLM calls with a cost of record (priced,
-- provider_reported, zero_rated) at cost + the card's markup, failed attempts only when the card says so;
-- pending calls (no price yet) are listed with their calls and tokens and bill nothing until priced.

with

requests as (

    select * from {{ ref('fct_requests') }}

),

llm_calls as (

    select * from {{ ref('fct_llm_calls') }}

),

terms as (

    select * from {{ ref('int_billing_terms_monthly') }}

),

monthly_requests as (

    select
        organization_id,
        {{ billing_month('requested_at') }} as billing_month,
        count(*) as requests
    from requests
    group by organization_id, {{ billing_month('requested_at') }}

),

calls_judged as (

    select
        terms.billing_month,
        terms.organization_id,
        llm_calls.provider,
        llm_calls.model,
        llm_calls.cost_usd,
        llm_calls.input_tokens + llm_calls.output_tokens as tokens,
        llm_calls.cost_status = 'pending' as is_pending,
        llm_calls.cost_status <> 'pending'
        and (llm_calls.status <> 'error' or terms.bills_failed_attempts) as is_billed

    from llm_calls

    inner join terms
        on
            llm_calls.organization_id = terms.organization_id
            and {{ billing_month('llm_calls.started_at') }} = terms.billing_month

),

monthly_usage as (

    select
        billing_month,
        organization_id,
        provider,
        model,
        count(case when is_billed then 1 end) as billed_calls,
        sum(case when is_billed then tokens else 0 end) as billed_tokens,
        {{ money('coalesce(sum(case when is_billed then cost_usd end), 0)') }} as billed_cost_usd,
        count(case when not is_billed and not is_pending then 1 end) as unbilled_calls,
        sum(case when not is_billed and not is_pending then tokens else 0 end) as unbilled_tokens,
        {{ money('coalesce(sum(case when not is_billed and not is_pending then cost_usd end), 0)') }}
            as unbilled_cost_usd,
        count(case when is_pending then 1 end) as pending_calls,
        sum(case when is_pending then tokens else 0 end) as pending_tokens

    from calls_judged

    group by billing_month, organization_id, provider, model

),

platform_fee_lines as (

    select
        billing_month,
        organization_id,
        'platform_fee' as line_id,
        1 as line_order,
        'platform_fee' as line_type,
        'Platform fee, ' || plan || ' plan'
        || case when rate_card_override_id is not null then ' (agreed terms)' else '' end as description,
        cast(1 as numeric(38, 18)) as quantity,
        'month' as unit,
        monthly_fee_usd as unit_price_usd,
        {{ round_to_cents('monthly_fee_usd') }} as amount_usd,
        cast(null as varchar) as provider,
        cast(null as varchar) as model,
        cast(null as bigint) as requests,
        cast(null as bigint) as calls,
        cast(null as bigint) as tokens

    from terms

),

request_overage_lines as (

    select
        terms.billing_month,
        terms.organization_id,
        'request_overage' as line_id,
        2 as line_order,
        'request_overage' as line_type,
        'Requests beyond the ' || cast(terms.included_requests as varchar) || ' included ('
        || cast(coalesce(monthly_requests.requests, 0) as varchar) || ' this month)' as description,
        cast(
            greatest(coalesce(monthly_requests.requests, 0) - terms.included_requests, 0) * 0.001
            as numeric(38, 18)
        ) as quantity,
        '1,000 requests' as unit,
        terms.overage_usd_per_1k_requests as unit_price_usd,
        {{ round_to_cents(
            'greatest(coalesce(monthly_requests.requests, 0) - terms.included_requests, 0) * 0.001'
            ~ ' * terms.overage_usd_per_1k_requests'
        ) }} as amount_usd,
        cast(null as varchar) as provider,
        cast(null as varchar) as model,
        coalesce(monthly_requests.requests, 0) as requests,
        cast(null as bigint) as calls,
        cast(null as bigint) as tokens

    from terms

    left join monthly_requests
        on
            terms.organization_id = monthly_requests.organization_id
            and terms.billing_month = monthly_requests.billing_month

),

ai_usage_lines as (

    select
        monthly_usage.billing_month,
        monthly_usage.organization_id,
        'ai_usage/' || monthly_usage.provider || '/' || monthly_usage.model as line_id,
        3 as line_order,
        'ai_usage' as line_type,
        'AI usage: ' || monthly_usage.provider || ' ' || monthly_usage.model as description,
        cast(monthly_usage.billed_cost_usd as numeric(38, 18)) as quantity,
        'USD provider cost' as unit,
        {{ money('1 + terms.ai_markup_rate') }} as unit_price_usd,
        {{ round_to_cents('monthly_usage.billed_cost_usd * (1 + terms.ai_markup_rate)') }} as amount_usd,
        monthly_usage.provider,
        monthly_usage.model,
        cast(null as bigint) as requests,
        monthly_usage.billed_calls as calls,
        cast(monthly_usage.billed_tokens as bigint) as tokens

    from monthly_usage

    inner join terms
        on
            monthly_usage.organization_id = terms.organization_id
            and monthly_usage.billing_month = terms.billing_month

    where monthly_usage.billed_calls > 0

),

unbilled_failed_attempt_lines as (

    select
        billing_month,
        organization_id,
        'failed_attempts_not_billed/' || provider || '/' || model as line_id,
        4 as line_order,
        'failed_attempts_not_billed' as line_type,
        'Failed attempts, not billed: ' || provider || ' ' || model as description,
        cast(unbilled_cost_usd as numeric(38, 18)) as quantity,
        'USD provider cost' as unit,
        {{ money('0') }} as unit_price_usd,
        {{ money('0') }} as amount_usd,
        provider,
        model,
        cast(null as bigint) as requests,
        unbilled_calls as calls,
        cast(unbilled_tokens as bigint) as tokens

    from monthly_usage

    where unbilled_calls > 0

),

pending_usage_lines as (

    select
        billing_month,
        organization_id,
        'pending_usage/' || provider || '/' || model as line_id,
        5 as line_order,
        'pending_usage' as line_type,
        'Not yet billed, no price yet: ' || provider || ' ' || model as description,
        cast(pending_calls as numeric(38, 18)) as quantity,
        'calls' as unit,
        cast(null as numeric(38, 18)) as unit_price_usd,
        {{ money('0') }} as amount_usd,
        provider,
        model,
        cast(null as bigint) as requests,
        pending_calls as calls,
        cast(pending_tokens as bigint) as tokens

    from monthly_usage

    where pending_calls > 0

),

final as (

    select * from platform_fee_lines
    union all
    select * from request_overage_lines
    union all
    select * from ai_usage_lines
    union all
    select * from unbilled_failed_attempt_lines
    union all
    select * from pending_usage_lines

)

select * from final
