{% macro latest_version(relation, id_column, order_by) -%}
    {#- One row per `id_column`: the first version in `order_by` order. Raw tables keep every version
        of a record (corrections included); the base models (models/staging/platform/base/) apply the
        contract's dedup rule with it, once per raw table. Versions are ranked on the narrow key columns
        only and the winners picked by `_delivery_seq` (unique per raw table): ranking whole rows would sort
        every wide column (records, payloads). Built incrementally (the base models are incremental tables),
        it ranks again only the ids delivered since the last build, with all their versions: the model's
        delete+insert on the id then replaces their rows, so a daily run ranks one day's deliveries rather than
        the whole history. -#}
    select *
    from {{ relation }}
    where _delivery_seq in (
        select _delivery_seq
        from (
            select
                _delivery_seq,
                row_number() over (partition by {{ id_column }} order by {{ order_by }}) as version_rank
            from {{ relation }}
            {%- if is_incremental() %}
                where {{ id_column }} in (
                    select {{ id_column }} from {{ relation }}
                    where _delivery_seq > (select coalesce(max(_delivery_seq), 0) from {{ this }})
                )
            {%- endif %}
        ) as versions
        where version_rank = 1
    )
{%- endmacro %}
