-- A statement's total is the sum of its lines, to the cent, and every statement has lines.

with

lines as (

    select
        organization_id,
        billing_month,
        sum(amount_usd) as lines_usd,
        count(*) as line_count
    from {{ ref('billing_statement_lines') }}
    group by organization_id, billing_month

),

statements as (

    select * from {{ ref('billing_statements') }}

)

select
    statements.organization_id,
    statements.billing_month,
    statements.total_usd,
    lines.lines_usd

from statements

full outer join lines
    on
        statements.organization_id = lines.organization_id
        and statements.billing_month = lines.billing_month

where
    statements.total_usd is null
    or lines.lines_usd is null
    or statements.total_usd <> lines.lines_usd
    or statements.line_count <> lines.line_count
