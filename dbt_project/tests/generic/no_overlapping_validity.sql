{% test no_overlapping_validity(model, partition_by, valid_from, valid_to) %}
    {#- Date-effective rows of the same key (e.g. a model's prices) never overlap, so a lookup by date
        finds at most one row. A NULL `valid_to` is open-ended. -#}
    {%- set keys = partition_by | join(', ') %}
    with ordered_versions as (
        select
            {{ keys }},
            {{ valid_from }} as valid_from,
            {{ valid_to }} as valid_to,
            lead({{ valid_from }}) over (
                partition by {{ keys }} order by {{ valid_from }}
            ) as next_valid_from
        from {{ model }}
    )

    select *
    from ordered_versions
    where
        next_valid_from is not null
        and (valid_to is null or valid_to > next_valid_from)
{% endtest %}
