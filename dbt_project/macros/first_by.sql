{#- Aggregates: `expression` from the row of the group that comes first (first_by) or last (last_by) in
    the order of `order_by`, a list of never-null expressions compared left to right; a null `expression`
    in that row is returned as null. On DuckDB one pass without a sort, where a window numbering the rows
    of every group would hold and sort them all. -#}

{% macro first_by(expression, order_by) -%}
    {{ return(adapter.dispatch('first_by', 'tokenbooks')(expression, order_by, 'asc')) }}
{%- endmacro %}

{% macro last_by(expression, order_by) -%}
    {{ return(adapter.dispatch('first_by', 'tokenbooks')(expression, order_by, 'desc')) }}
{%- endmacro %}

{% macro default__first_by(expression, order_by, direction) -%}
    (array_agg({{ expression }} order by
        {%- for key in order_by %} {{ key }} {{ direction }}{{ ',' if not loop.last }}{% endfor -%}
    ))[1]
{%- endmacro %}

{% macro duckdb__first_by(expression, order_by, direction) -%}
    {#- The _null variants keep a null `expression` rather than skipping its row; the keys as one row value
        compare left to right. -#}
    {{ 'arg_min_null' if direction == 'asc' else 'arg_max_null' }}({{ expression }}, ({{ order_by | join(', ') }}))
{%- endmacro %}
