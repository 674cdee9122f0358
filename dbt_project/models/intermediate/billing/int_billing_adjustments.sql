-- Adjustment lines: for every closed month, what it would bill now minus what was billed for it (its
-- closed lines, plus adjustments already closed on later statements), per line and organization, to the
-- cent. A late record, a correction or a new price after closing lands here, never on the closed
-- statement: on the first open month after the closed one, referencing it.

with

computed_lines as (

    select * from {{ ref('int_billing_lines_computed') }}

),

closed_months as (

    select * from {{ ref('billing_closed_months') }}

),

closed_lines as (

    select * from {{ ref('billing_closed_statement_lines') }}

),

months_after_closed as (

    select {{ add_months('billing_month', 1) }} as billing_month
    from closed_months

),

open_months_after_closed as (

    select billing_month from months_after_closed
    where billing_month not in (select closed_months.billing_month from closed_months)

),

adjustment_months as (

    -- the first open month after a closed one: one past the end of its run of consecutive closed months
    select
        closed_months.billing_month as reference_month,
        min(open_months_after_closed.billing_month) as billing_month

    from closed_months

    inner join open_months_after_closed
        on closed_months.billing_month < open_months_after_closed.billing_month

    group by closed_months.billing_month

),

billed_now as (

    select
        computed_lines.organization_id,
        computed_lines.billing_month as reference_month,
        computed_lines.line_id as adjusted_line_id,
        computed_lines.description,
        computed_lines.provider,
        computed_lines.model,
        computed_lines.amount_usd

    from computed_lines

    inner join closed_months
        on computed_lines.billing_month = closed_months.billing_month

),

billed_before as (

    -- what each closed line has billed so far: the line as closed, then every closed adjustment to it
    select
        organization_id,
        coalesce(reference_month, billing_month) as reference_month,
        coalesce(adjusted_line_id, line_id) as adjusted_line_id,
        max(case when line_type <> 'adjustment' then description end) as description,
        max(provider) as provider,
        max(model) as model,
        sum(amount_usd) as amount_usd

    from closed_lines

    group by organization_id, coalesce(reference_month, billing_month), coalesce(adjusted_line_id, line_id)

),

differences as (

    select
        coalesce(billed_now.organization_id, billed_before.organization_id) as organization_id,
        coalesce(billed_now.reference_month, billed_before.reference_month) as reference_month,
        coalesce(billed_now.adjusted_line_id, billed_before.adjusted_line_id) as adjusted_line_id,
        coalesce(billed_now.description, billed_before.description, billed_before.adjusted_line_id)
            as adjusted_description,
        coalesce(billed_now.provider, billed_before.provider) as provider,
        coalesce(billed_now.model, billed_before.model) as model,
        coalesce(billed_now.amount_usd, 0) as amount_now_usd,
        coalesce(billed_before.amount_usd, 0) as amount_before_usd

    from billed_now

    full outer join billed_before
        on
            billed_now.organization_id = billed_before.organization_id
            and billed_now.reference_month = billed_before.reference_month
            and billed_now.adjusted_line_id = billed_before.adjusted_line_id

),

final as (

    select
        -- grain
        adjustment_months.billing_month,
        differences.organization_id,
        'adjustment/' || {{ month_label('differences.reference_month') }}
        || '/' || differences.adjusted_line_id as line_id,
        6 as line_order,

        -- line: amounts are differences of rounded lines, so whole cents already
        'adjustment' as line_type,
        'Adjustment to ' || {{ month_label('differences.reference_month') }} || ': '
        || differences.adjusted_description as description,
        cast(1 as numeric(38, 18)) as quantity,
        'adjustment' as unit,
        {{ money('differences.amount_now_usd - differences.amount_before_usd') }} as unit_price_usd,
        {{ money('differences.amount_now_usd - differences.amount_before_usd') }} as amount_usd,

        -- what the line is about
        differences.reference_month,
        differences.adjusted_line_id,
        differences.provider,
        differences.model

    from differences

    inner join adjustment_months
        on differences.reference_month = adjustment_months.reference_month

    where differences.amount_now_usd <> differences.amount_before_usd

)

select * from final
