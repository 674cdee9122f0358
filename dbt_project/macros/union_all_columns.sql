{% macro union_all_columns(relations, columns) -%}
    {#- The rows of every relation (or CTE) of `relations` in one `union all`, each selecting `columns` in the
        given order: a union matches columns by position, so every branch names them, from one list. -#}
    {%- for relation in relations %}
        select {{ columns | join(', ') }}
        from {{ relation }}
        {% if not loop.last %}union all{% endif %}
    {%- endfor %}
{%- endmacro %}
