{#- Money is exact: DECIMAL(38,18) holds per-token prices like 1.25e-8 USD and sums of millions of calls.
    Multiply by decimal factors, never divide: DuckDB turns decimal division into DOUBLE. -#}

{% macro money(expression) -%}
    {{ return(adapter.dispatch('money', 'tokenbooks')(expression)) }}
{%- endmacro %}

{% macro default__money(expression) -%}
    cast({{ expression }} as numeric(38, 18))
{%- endmacro %}

{% macro duckdb__money(expression) -%}
    cast({{ expression }} as decimal(38, 18))
{%- endmacro %}


{% macro money_from_double(expression) -%}
    {#- A JSON number arrives as a double. Its shortest round-trip text is what the platform sent
        (0.009, not 0.008999999999999999), so convert through text rather than cast the binary value. -#}
    {{ return(money('cast(' ~ expression ~ ' as varchar)')) }}
{%- endmacro %}
