-- Every line of every statement (organization x billing month). A closed month's lines are read back
-- exactly as they were closed; an open month's lines are computed from the facts now, followed by the
-- adjustments to closed months that land on it. Rebuilt whole on every run: statements are few.

{# A statement line's columns, in the mart's order: closed lines are read back in it, and every other kind
    of line is brought to it before the unions below. #}
{% set line_columns = [
    'billing_month', 'organization_id', 'line_number', 'line_id',
    'line_type', 'description', 'quantity', 'unit', 'unit_price_usd', 'amount_usd',
    'reference_month', 'adjusted_line_id', 'provider', 'model', 'requests', 'calls', 'tokens',
] %}
{# An open line is numbered after the union, by its section (line_order). #}
{% set open_line_columns = ['line_order'] + line_columns | reject('equalto', 'line_number') | list %}

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

computed_open_lines as (

    -- what an open month bills now: these lines refer to no other month
    select
        *,
        cast(null as date) as reference_month,
        cast(null as varchar) as adjusted_line_id

    from computed_lines

    where billing_month not in (select closed_months.billing_month from closed_months)

),

adjustment_open_lines as (

    -- what changed in closed months, on an open month: these lines count no usage
    select
        *,
        cast(null as bigint) as requests,
        cast(null as bigint) as calls,
        cast(null as bigint) as tokens

    from adjustment_lines

),

open_lines as (

    {{ union_all_columns(['computed_open_lines', 'adjustment_open_lines'], open_line_columns) }}

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

    {{ union_all_columns(['closed_lines', 'numbered_open_lines'], line_columns) }}

)

select * from final
