{% test unique_and_not_null(model, key, not_null=[]) %}
    {#- A model's grain and its required columns in one scan: no two rows share `key`, and neither the key
        columns nor the `not_null` ones hold NULLs. A view is computed once rather than once per test (two
        tests on a view recompute it twice). One failing row per check, with the count. -#}
    {%- set required = key + (not_null | reject('in', key) | list) %}
    with per_key as (
        select
            count(*) as occurrences,
            {%- for column in required %}
                sum(case when {{ adapter.quote(column) }} is null then 1 else 0 end)
                as nulls_{{ loop.index }}{{ "," if not loop.last }}
            {%- endfor %}
        from {{ model }}
        group by {% for column in key %}{{ adapter.quote(column) }}{{ ", " if not loop.last }}{% endfor %}
    ),

    totals as (
        select
            sum(case when occurrences > 1 then 1 else 0 end) as duplicated_keys,
            {%- for column in required %}
                sum(nulls_{{ loop.index }}) as nulls_{{ loop.index }}{{ "," if not loop.last }}
            {%- endfor %}
        from per_key
    ),

    checks as (
        select
            'key ({{ key | join(", ") }}) shared by several rows' as failing_check,
            duplicated_keys as failing_count
        from totals
        {%- for column in required %}
            union all
            select
                '{{ column }} is null' as failing_check,
                nulls_{{ loop.index }} as failing_count
            from totals
        {%- endfor %}
    )

    select
        failing_check,
        failing_count
    from checks
    where failing_count > 0
{% endtest %}
