-- One row per statement (organization x billing month): its totals, what is not billed yet, and a hash of
-- its content. Totals are sums of the statement's rounded lines. A closed statement keeps the organization
-- name and plan it was closed with, so its content, totals and hash never change.

{%- set hashed_line_columns = [
    'line_number', 'line_id', 'line_type', 'description', 'quantity', 'unit', 'unit_price_usd', 'amount_usd',
    'reference_month', 'adjusted_line_id', 'provider', 'model', 'requests', 'calls', 'tokens',
] %}
{%- set subtotals = {
    'platform_fee_usd': 'platform_fee',
    'request_overage_usd': 'request_overage',
    'ai_usage_usd': 'ai_usage',
    'adjustments_usd': 'adjustment',
} %}
{%- set hashed_line_text -%}
    {%- for column in hashed_line_columns -%}
        coalesce(cast({{ column }} as varchar), ''){% if not loop.last %} || '|' || {% endif %}
    {%- endfor -%}
{%- endset %}

with

lines as (

    select * from {{ ref('billing_statement_lines') }}

),

terms as (

    select * from {{ ref('int_billing_terms_monthly') }}

),

organizations as (

    select * from {{ ref('stg_platform__organizations') }}

),

closed_months as (

    select * from {{ ref('billing_closed_months') }}

),

closed_statements as (

    select * from {{ ref('billing_closed_statements') }}

),

statement_totals as (

    select
        billing_month,
        organization_id,
        count(*) as line_count,
        {% for column, line_type in subtotals.items() -%}
            {{ money("sum(case when line_type = '" ~ line_type ~ "' then amount_usd else 0 end)") }}
                as {{ column }},
        {% endfor -%}
        {{ money('sum(amount_usd)') }} as total_usd,
        cast(coalesce(sum(case when line_type = 'request_overage' then requests end), 0) as bigint)
            as requests,
        cast(coalesce(sum(case when line_type = 'pending_usage' then calls end), 0) as bigint)
            as pending_calls,
        cast(coalesce(sum(case when line_type = 'pending_usage' then tokens end), 0) as bigint)
            as pending_tokens,
        -- every line's every column, in line order: the content the hash is taken of
        {{ dbt.listagg(hashed_line_text, "'~'", 'order by line_number') }} as lines_text

    from lines

    group by billing_month, organization_id

),

statements as (

    select
        -- grain
        statement_totals.billing_month,
        statement_totals.organization_id,

        -- organization and terms (as closed, for a closed statement)
        case
            when closed_months.billing_month is null then organizations.organization_name
            else closed_statements.organization_name
        end as organization_name,
        case
            when closed_months.billing_month is null then coalesce(terms.plan, organizations.plan)
            else closed_statements.plan
        end as plan,
        case
            when closed_months.billing_month is null then terms.rate_card_id
            else closed_statements.rate_card_id
        end as rate_card_id,

        -- status
        case when closed_months.billing_month is null then 'open' else 'closed' end as status,
        closed_months.closed_at,

        -- money, whole cents: sums of rounded lines
        statement_totals.platform_fee_usd,
        statement_totals.request_overage_usd,
        statement_totals.ai_usage_usd,
        statement_totals.adjustments_usd,
        statement_totals.total_usd,

        -- usage, and what is not billed yet (calls without a price: no amount until priced)
        statement_totals.requests,
        statement_totals.pending_calls,
        statement_totals.pending_tokens,
        statement_totals.line_count,
        statement_totals.lines_text

    from statement_totals

    left join closed_months
        on statement_totals.billing_month = closed_months.billing_month

    left join closed_statements
        on
            statement_totals.billing_month = closed_statements.billing_month
            and statement_totals.organization_id = closed_statements.organization_id

    left join terms
        on
            statement_totals.billing_month = terms.billing_month
            and statement_totals.organization_id = terms.organization_id

    left join organizations
        on statement_totals.organization_id = organizations.organization_id

),

final as (

    select
        -- grain
        billing_month,
        organization_id,

        -- organization and terms
        organization_name,
        plan,
        rate_card_id,

        -- status
        status,
        closed_at,

        -- money
        platform_fee_usd,
        request_overage_usd,
        ai_usage_usd,
        adjustments_usd,
        total_usd,

        -- usage
        requests,
        pending_calls,
        pending_tokens,
        line_count,

        -- md5 of the content (organization, month, name, plan and every line): closing does not change it
        {{ dbt.hash(
            "organization_id || '|' || cast(billing_month as varchar) || '|' || coalesce(organization_name, '')"
            ~ " || '|' || coalesce(plan, '') || '|' || lines_text"
        ) }} as statement_hash

    from statements

)

select * from final
