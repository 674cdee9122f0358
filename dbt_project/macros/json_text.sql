{#- The value under `key` of a JSON object column, as text (strings unquoted, objects and arrays as JSON). -#}

{% macro json_text(json_column, key) -%}
    {{ return(adapter.dispatch('json_text', 'tokenbooks')(json_column, key)) }}
{%- endmacro %}

{% macro default__json_text(json_column, key) -%}
    {#- The ->> operator of PostgreSQL (json and jsonb) and DuckDB (JSON). -#}
    ({{ json_column }} ->> '{{ key }}')
{%- endmacro %}
