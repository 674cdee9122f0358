-- One row per organization and billing month with activity: what the month's usage bills, what it cost in
-- provider fees, the margin, and how well it served (positive feedback, cost per successful conversation).
-- Revenue is counted on the month of the usage, at the current data: a closed month's revenue is what it
-- billed plus the adjustments made to it since (which sit on later statements).

with

terms as (

    select * from {{ ref('int_billing_terms_monthly') }}

),

computed_lines as (

    select * from {{ ref('int_billing_lines_computed') }}

),

llm_calls as (

    select * from {{ ref('fct_llm_calls') }}

),

traces as (

    select * from {{ ref('fct_traces') }}

),

rated_feedback as (

    select * from {{ ref('int_feedback_rated') }}

),

monthly_revenue as (

    select
        organization_id,
        billing_month,
        sum(amount_usd) as revenue_usd,
        cast(sum(case when line_type = 'request_overage' then requests else 0 end) as bigint) as requests

    from computed_lines

    group by organization_id, billing_month

),

monthly_cost as (

    -- every attempt with a cost of record, failed ones included: the provider is paid for them all
    select
        organization_id,
        {{ billing_month('started_at') }} as billing_month,
        count(*) as llm_calls,
        count(case when cost_status = 'pending' then 1 end) as pending_calls,
        coalesce(sum(cost_usd), 0) as provider_cost_usd

    from llm_calls

    group by organization_id, {{ billing_month('started_at') }}

),

conversation_months as (

    select
        organization_id,
        conversation_id,
        {{ billing_month('started_at') }} as billing_month,
        count(case when status <> 'ok' then 1 end) as failed_traces

    from traces

    where conversation_id is not null

    group by organization_id, conversation_id, {{ billing_month('started_at') }}

),

monthly_conversations as (

    -- a conversation succeeds in a month when every trace it had that month ended ok
    select
        organization_id,
        billing_month,
        count(*) as conversations,
        count(case when failed_traces = 0 then 1 end) as successful_conversations

    from conversation_months

    group by organization_id, billing_month

),

monthly_feedback as (

    select
        organization_id,
        {{ billing_month('created_at') }} as billing_month,
        count(*) as feedback_ratings,
        count(case when is_positive then 1 end) as positive_ratings

    from rated_feedback

    group by organization_id, {{ billing_month('created_at') }}

),

final as (

    select
        -- grain
        terms.billing_month,
        terms.organization_id,

        -- organization
        terms.organization_name,
        terms.plan,

        -- money: revenue in whole cents (sum of rounded statement lines), cost exact
        {{ money('coalesce(monthly_revenue.revenue_usd, 0)') }} as revenue_usd,
        {{ money('coalesce(monthly_cost.provider_cost_usd, 0)') }} as provider_cost_usd,
        {{ money('coalesce(monthly_revenue.revenue_usd, 0) - coalesce(monthly_cost.provider_cost_usd, 0)') }}
            as gross_margin_usd,
        {{ ratio(
            '(coalesce(monthly_revenue.revenue_usd, 0) - coalesce(monthly_cost.provider_cost_usd, 0)) * 100',
            'monthly_revenue.revenue_usd'
        ) }} as gross_margin_pct,

        -- usage
        coalesce(monthly_revenue.requests, 0) as requests,
        coalesce(monthly_cost.llm_calls, 0) as llm_calls,
        coalesce(monthly_cost.pending_calls, 0) as pending_calls,

        -- outcomes
        coalesce(monthly_conversations.conversations, 0) as conversations,
        coalesce(monthly_conversations.successful_conversations, 0) as successful_conversations,
        {{ money_per('monthly_cost.provider_cost_usd', 'monthly_conversations.successful_conversations') }}
            as cost_per_successful_conversation_usd,
        coalesce(monthly_feedback.feedback_ratings, 0) as feedback_ratings,
        coalesce(monthly_feedback.positive_ratings, 0) as positive_ratings,
        {{ ratio('monthly_feedback.positive_ratings', 'monthly_feedback.feedback_ratings') }}
            as positive_feedback_rate

    from terms

    left join monthly_revenue
        on
            terms.organization_id = monthly_revenue.organization_id
            and terms.billing_month = monthly_revenue.billing_month

    left join monthly_cost
        on
            terms.organization_id = monthly_cost.organization_id
            and terms.billing_month = monthly_cost.billing_month

    left join monthly_conversations
        on
            terms.organization_id = monthly_conversations.organization_id
            and terms.billing_month = monthly_conversations.billing_month

    left join monthly_feedback
        on
            terms.organization_id = monthly_feedback.organization_id
            and terms.billing_month = monthly_feedback.billing_month

)

select * from final
