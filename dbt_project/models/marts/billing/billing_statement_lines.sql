-- Every line of every statement (organization x billing month). A closed month's lines are read back
-- exactly as they were closed; an open month's lines are computed from the facts now, followed by the
-- adjustments to closed months that land on it. Rebuilt whole on every run: statements are few.

with

computed_lines as (

    select * from {{ ref('int_billing_lines_computed') }}

),

adjustment_lines as (

    select * from {{ ref('int_billing_adjustments') }}

),

closed_months as (

    select * from {{ ref('billing_closed_months') }}

),

closed_lines as (

    select * from {{ ref('billing_closed_statement_lines') }}

),

open_lines as (

    select
        billing_month,
        organization_id,
        line_id,
        line_order,
        line_type,
        description,
        quantity,
        unit,
        unit_price_usd,
        amount_usd,
        cast(null as date) as reference_month,
        cast(null as varchar) as adjusted_line_id,
        provider,
        model,
        requests,
        calls,
        tokens

    from computed_lines

    where billing_month not in (select closed_months.billing_month from closed_months)

    union all

    select
        billing_month,
        organization_id,
        line_id,
        line_order,
        line_type,
        description,
        quantity,
        unit,
        unit_price_usd,
        amount_usd,
        reference_month,
        adjusted_line_id,
        provider,
        model,
        cast(null as bigint) as requests,
        cast(null as bigint) as calls,
        cast(null as bigint) as tokens

    from adjustment_lines

),

numbered_open_lines as (

    select
        *,
        row_number() over (
            partition by organization_id, billing_month order by line_order, line_id
        ) as line_number

    from open_lines

),

final as (

    select
        -- grain
        billing_month,
        organization_id,
        line_number,
        line_id,

        -- line
        line_type,
        description,
        quantity,
        unit,
        unit_price_usd,
        amount_usd,

        -- what the line is about
        reference_month,
        adjusted_line_id,
        provider,
        model,
        requests,
        calls,
        tokens

    from closed_lines

    union all

    select
        billing_month,
        organization_id,
        line_number,
        line_id,
        line_type,
        description,
        quantity,
        unit,
        unit_price_usd,
        amount_usd,
        reference_month,
        adjusted_line_id,
        provider,
        model,
        requests,
        calls,
        tokens

    from numbered_open_lines

)

select * from final
