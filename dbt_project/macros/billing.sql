{#- Billing: the one rounding rule of statement lines, and month arithmetic shared by the billing models. -#}

{% macro round_to_cents(amount) -%}
    {#- Statement lines are rounded to cents by ONE rule, here: round half to even ("banker's rounding")
        on each line's exact amount; statement totals are sums of rounded lines, never rounded again.
        Half-even keeps the rounding error of many lines centred on zero. Written with floor() so every
        warehouse rounds alike (DuckDB's and PostgreSQL's round() go half away from zero). The result
        is money (DECIMAL(38,18)) holding a whole number of cents. -#}
    {%- set cents = '(' ~ amount ~ ') * 100' -%}
    {%- set floor_cents = 'floor(' ~ cents ~ ')' -%}
    {{ money(
        'case'
        ~ ' when ' ~ cents ~ ' - ' ~ floor_cents ~ ' > 0.5 then ' ~ floor_cents ~ ' + 1'
        ~ ' when ' ~ cents ~ ' - ' ~ floor_cents ~ ' < 0.5 then ' ~ floor_cents
        ~ ' when mod(' ~ floor_cents ~ ', 2) = 0 then ' ~ floor_cents
        ~ ' else ' ~ floor_cents ~ ' + 1 end * 0.01'
    ) }}
{%- endmacro %}


{% macro billing_month(timestamp_column) -%}
    {#- The billing month of a UTC timestamp: the first day of its month, as a date. -#}
    cast({{ dbt.date_trunc('month', timestamp_column) }} as date)
{%- endmacro %}


{% macro add_months(month_column, months) -%}
    {#- A billing month `months` later (earlier when negative), as a date. -#}
    cast({{ dbt.dateadd('month', months, month_column) }} as date)
{%- endmacro %}


{% macro month_label(month_column) -%}
    {#- 2026-10 for the month of 2026-10-01: how statements name a month. -#}
    substring(cast({{ month_column }} as varchar), 1, 7)
{%- endmacro %}
