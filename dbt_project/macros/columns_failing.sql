{% macro columns_failing(model, columns, condition) -%}
    {#- The columns of `model` where `condition` (a format string, `{}` standing for the quoted column)
        holds on some row, one row each with the count: every column counted in a single scan. -#}
    with counts as (
        select
            {%- for column in columns %}
                sum(case when {{ condition.format(adapter.quote(column)) }} then 1 else 0 end)
                as failing_{{ loop.index }}{{ "," if not loop.last }}
            {%- endfor %}
        from {{ model }}
    ),

    per_column as (
        {%- for column in columns %}
            select
                '{{ column }}' as column_name,
                failing_{{ loop.index }} as failing_rows
            from counts
            {{ "union all" if not loop.last }}
        {%- endfor %}
    )

    select
        column_name,
        failing_rows
    from per_column
    where failing_rows > 0
{%- endmacro %}
