{#- Ratios that read the same on every warehouse. DuckDB divides decimals in DOUBLE and PostgreSQL in
    exact NUMERIC, so each quotient is rounded to a fixed scale: both engines then store the same value. -#}

{% macro ratio(numerator, denominator) -%}
    {#- A share or a mean, e.g. failed / calls, to 6 decimals; NULL when the denominator is 0. -#}
    cast(cast({{ numerator }} as numeric(38, 12)) / nullif({{ denominator }}, 0) as numeric(18, 6))
{%- endmacro %}


{% macro money_per(amount_usd, units) -%}
    {#- An amount of money per unit (cost per conversation), rounded to 1e-12 USD and stored as money
        (DECIMAL(38,18)); NULL when there are no units. Not for ledger amounts, which are never divided. -#}
    {{ money(
        'cast(' ~ amount_usd ~ ' / nullif(' ~ units ~ ', 0) as numeric(38, 12))'
    ) }}
{%- endmacro %}
