-- Every open month's statement accounts for all of its organization's LLM calls of that month, and for no
-- other organization's: the provider cost on its AI usage and failed-attempt lines is the cost of record of
-- its calls in fct_llm_calls, to the last decimal, and its pending lines count the pending calls.

with

lines as (

    select * from {{ ref('billing_statement_lines') }}

),

statements as (

    select * from {{ ref('billing_statements') }}
    where status = 'open'

),

llm_calls as (

    select
        organization_id,
        {{ billing_month('started_at') }} as billing_month,
        {{ money('coalesce(sum(cost_usd), 0)') }} as cost_usd,
        count(case when cost_status = 'pending' then 1 end) as pending_calls
    from {{ ref('fct_llm_calls') }}
    group by organization_id, {{ billing_month('started_at') }}

),

billed as (

    select
        lines.organization_id,
        lines.billing_month,
        {{ money(
            "coalesce(sum(case when lines.line_type in ('ai_usage', 'failed_attempts_not_billed')"
            ~ " then lines.quantity end), 0)"
        ) }} as cost_usd,
        coalesce(sum(case when lines.line_type = 'pending_usage' then lines.calls end), 0) as pending_calls

    from lines

    inner join statements
        on
            lines.organization_id = statements.organization_id
            and lines.billing_month = statements.billing_month

    where lines.reference_month is null

    group by lines.organization_id, lines.billing_month

)

select
    coalesce(billed.organization_id, llm_calls.organization_id) as organization_id,
    coalesce(billed.billing_month, llm_calls.billing_month) as billing_month,
    billed.cost_usd as billed_cost_usd,
    llm_calls.cost_usd as calls_cost_usd

from billed

full outer join llm_calls
    on
        billed.organization_id = llm_calls.organization_id
        and billed.billing_month = llm_calls.billing_month

where
    -- months closed since have their calls on closed statements
    coalesce(billed.billing_month, llm_calls.billing_month) not in (
        select closed_months.billing_month from {{ ref('billing_closed_months') }} as closed_months
    )
    and (
        -- calls with no open statement, or a statement billing other calls than its month's
        billed.organization_id is null
        or billed.cost_usd <> coalesce(llm_calls.cost_usd, 0)
        or billed.pending_calls <> coalesce(llm_calls.pending_calls, 0)
    )
