{#- Price rows: provider_prices and price_overrides share one shape, staged by one macro, fingerprinted by
    one hash. -#}

{% macro price_rate_columns() -%}
    {#- The rates of a price row: USD per million tokens of each usage type, and the fee per thousand
        requests. -#}
    {{ return([
        'input_usd_per_mtok',
        'cache_read_usd_per_mtok',
        'cache_write_5m_usd_per_mtok',
        'cache_write_1h_usd_per_mtok',
        'output_usd_per_mtok',
        'reasoning_usd_per_mtok',
        'request_usd_per_thousand',
    ]) }}
{%- endmacro %}


{% macro staged_price_row_columns() -%}
    {#- The columns of a staged price row (stg_pricing__provider_prices, stg_pricing__price_overrides). -#}
    {{ return(
        ['price_id', 'provider', 'model', 'model_key', 'service_tier', 'input_tokens_above']
        + price_rate_columns()
        + ['valid_from_at', 'valid_to_at', 'utc_second_from', 'utc_second_to', 'price_source', 'price_hash']
    ) }}
{%- endmacro %}


{% macro price_row_hash() -%}
    {#- md5 of everything in a seed price row that reaches the ledger: id, model, tier, threshold, validity
        (days and time of day), rates and source (not source_key or note, which change no cost). A call stores the hash of the row
        it was priced with; a different hash in the seed means the row changed and the call is re-priced.
        NULL and '' stay distinct ('~' marks NULL) so an emptied rate changes the hash. -#}
    {%- set parts = [] -%}
    {%- for column in ['price_id', 'provider', 'model', 'service_tier', 'input_tokens_above', 'valid_from', 'valid_to',
        'utc_time_from', 'utc_time_to'] + price_rate_columns() + ['source'] -%}
        {%- do parts.append("coalesce(cast(" ~ column ~ " as " ~ dbt.type_string() ~ "), '~')") -%}
    {%- endfor -%}
    {{ dbt.hash(parts | join(" || '|' || ")) }}
{%- endmacro %}


{% macro stage_price_rows(seed_name) -%}
    {#- A price seed as the lookup reads it: the lower-cased model as the match key, validity as UTC
        instants and seconds of the day, and the row's content hash. -#}
    with

    source as (

        select * from {{ ref(seed_name) }}

    ),

    renamed as (

        select
            -- ids
            price_id,
            provider,
            model,
            lower(model) as model_key,

            -- what the row prices
            service_tier,
            input_tokens_above,

            -- rates, USD per million tokens (NULL = the fallback rate named in the seed's docs)
            {% for column in price_rate_columns() -%}
                {{ column }},
            {% endfor %}
            -- validity: from 00:00:00 UTC of valid_from, until 00:00:00 UTC of valid_to (NULL = open)
            cast(valid_from as timestamp) as valid_from_at,
            cast(valid_to as timestamp) as valid_to_at,
            -- time of day, as seconds since 00:00:00 UTC over [from, to); NULL = the whole day
            {{ seconds_of_hhmmss('utc_time_from') }} as utc_second_from,
            case
                when utc_time_from is not null then coalesce({{ seconds_of_hhmmss('utc_time_to') }}, 86400)
            end as utc_second_to,

            -- lineage
            source as price_source,
            {{ price_row_hash() }} as price_hash

        from source

    )

    select * from renamed
{%- endmacro %}


{% macro seconds_of_hhmmss(column) -%}
    {#- 'HH:MM:SS' text as seconds since midnight; NULL stays NULL. -#}
    cast(substring({{ column }}, 1, 2) as {{ dbt.type_int() }}) * 3600
    + cast(substring({{ column }}, 4, 2) as {{ dbt.type_int() }}) * 60
    + cast(substring({{ column }}, 7, 2) as {{ dbt.type_int() }})
{%- endmacro %}


{% macro utc_second_of_day(timestamp) -%}
    {#- Whole seconds since 00:00:00 of a UTC timestamp's day (fractions of a second dropped), to compare
        with a price row's time-of-day window. -#}
    cast(
        extract(hour from {{ timestamp }}) * 3600
        + extract(minute from {{ timestamp }}) * 60
        + floor(extract(second from {{ timestamp }}))
        as {{ dbt.type_int() }}
    )
{%- endmacro %}
