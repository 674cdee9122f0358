-- One row per organization and billing month with any request or LLM call: the terms it is billed on.
-- The rate card is the one of the plan in the organization's latest snapshot, in effect for the month
-- (versions change only at month starts); each non-empty column of an override valid for the month wins.

with

requests as (

    select * from {{ ref('fct_requests') }}

),

llm_calls as (

    select * from {{ ref('fct_llm_calls') }}

),

organizations as (

    select * from {{ ref('stg_platform__organizations') }}

),

rate_cards as (

    select * from {{ ref('rate_cards') }}

),

rate_card_overrides as (

    select * from {{ ref('rate_card_overrides') }}

),

active_months as (

    select
        organization_id,
        {{ billing_month('requested_at') }} as billing_month
    from requests

    union

    select
        organization_id,
        {{ billing_month('started_at') }} as billing_month
    from llm_calls

),

final as (

    select
        -- grain
        active_months.billing_month,
        active_months.organization_id,

        -- organization
        organizations.organization_name,
        organizations.plan,

        -- terms
        rate_cards.rate_card_id,
        rate_card_overrides.override_id as rate_card_override_id,
        {{ money('coalesce(rate_card_overrides.monthly_fee_usd, rate_cards.monthly_fee_usd)') }}
            as monthly_fee_usd,
        coalesce(rate_card_overrides.included_requests, rate_cards.included_requests) as included_requests,
        {{ money(
            'coalesce(rate_card_overrides.overage_usd_per_1k_requests, rate_cards.overage_usd_per_1k_requests)'
        ) }} as overage_usd_per_1k_requests,
        coalesce(rate_card_overrides.ai_markup_rate, rate_cards.ai_markup_rate) as ai_markup_rate,
        coalesce(rate_card_overrides.bills_failed_attempts, rate_cards.bills_failed_attempts)
            as bills_failed_attempts

    from active_months

    left join organizations
        on active_months.organization_id = organizations.organization_id

    left join rate_cards
        on
            organizations.plan = rate_cards.plan
            and active_months.billing_month >= rate_cards.valid_from
            and (rate_cards.valid_to is null or active_months.billing_month < rate_cards.valid_to)

    left join rate_card_overrides
        on
            active_months.organization_id = rate_card_overrides.organization_id
            and active_months.billing_month >= rate_card_overrides.valid_from
            and (
                rate_card_overrides.valid_to is null
                or active_months.billing_month < rate_card_overrides.valid_to
            )

)

select * from final
