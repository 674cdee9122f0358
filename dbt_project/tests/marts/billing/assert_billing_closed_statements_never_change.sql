-- A closed statement reads exactly as it was closed: the same total and the same content hash, and it is
-- still there.

with

closed_statements as (

    select * from {{ ref('billing_closed_statements') }}

),

statements as (

    select * from {{ ref('billing_statements') }}

)

select
    closed_statements.organization_id,
    closed_statements.billing_month,
    closed_statements.statement_hash as closed_hash,
    statements.statement_hash,
    closed_statements.total_usd as closed_total_usd,
    statements.total_usd

from closed_statements

left join statements
    on
        closed_statements.organization_id = statements.organization_id
        and closed_statements.billing_month = statements.billing_month

where
    statements.statement_hash is null
    or statements.status <> 'closed'
    or statements.statement_hash <> closed_statements.statement_hash
    or statements.total_usd <> closed_statements.total_usd
