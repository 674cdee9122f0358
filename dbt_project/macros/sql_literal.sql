{% macro sql_literal(text) -%}
    {#- A SQL string literal of `text`, quotes doubled: for values read at run time (run_query) and written
        into SQL, such as model names or role names. -#}
    {{ return("'" ~ (text | string | replace("'", "''")) ~ "'") }}
{%- endmacro %}
