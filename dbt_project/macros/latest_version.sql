{% macro latest_version(relation, id_column, order_by) -%}
    {#- One row per `id_column`: the first version in `order_by` order. Raw tables keep every version
        of a record (corrections included); the base models (models/staging/platform/base/) apply the
        contract's dedup rule with it, once per raw table. Versions are ranked on the narrow key columns
        only and the winners picked by `_delivery_seq` (unique per raw table): ranking whole rows would sort
        every wide column (records, payloads). -#}
    select *
    from {{ relation }}
    where _delivery_seq in (
        select _delivery_seq
        from (
            select
                _delivery_seq,
                row_number() over (partition by {{ id_column }} order by {{ order_by }}) as version_rank
            from {{ relation }}
        ) as versions
        where version_rank = 1
    )
{%- endmacro %}
