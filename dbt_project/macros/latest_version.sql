{% macro latest_version(relation, id_column, order_by) -%}
    {#- One row per `id_column`: the first version in `order_by` order. Raw tables keep every version
        of a record (corrections included); this is where the contract's dedup rule is applied.
        Adds `version_rank`, which callers do not select. -#}
    select *
    from (
        select
            *,
            row_number() over (partition by {{ id_column }} order by {{ order_by }}) as version_rank
        from {{ relation }}
    ) as versions
    where version_rank = 1
{%- endmacro %}
