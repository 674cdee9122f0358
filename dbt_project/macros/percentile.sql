{#- Continuous (interpolated) percentile of `expression` within a group, `fraction` between 0 and 1. -#}

{% macro percentile(expression, fraction) -%}
    {{ return(adapter.dispatch('percentile', 'tokenbooks')(expression, fraction)) }}
{%- endmacro %}

{% macro default__percentile(expression, fraction) -%}
    percentile_cont({{ fraction }}) within group (order by {{ expression }})
{%- endmacro %}

{% macro duckdb__percentile(expression, fraction) -%}
    quantile_cont({{ expression }}, {{ fraction }})
{%- endmacro %}
