-- One row per price version; the seed's own tests keep price_id unique and versions non-overlapping.

with

source as (

    select * from {{ ref('model_prices') }}

),

renamed as (

    select
        -- ids
        price_id,
        provider,
        model,

        -- prices, USD per million tokens (empty = the fallback rate named in the seed's docs)
        input_usd_per_mtok,
        cache_read_usd_per_mtok,
        cache_write_usd_per_mtok,
        cache_write_1h_usd_per_mtok,
        output_usd_per_mtok,
        reasoning_usd_per_mtok,

        -- validity: from 00:00:00 UTC of valid_from, until 00:00:00 UTC of valid_to
        cast(valid_from as timestamp) as valid_from_at,
        cast(valid_to as timestamp) as valid_to_at,

        -- lineage
        source as price_source

    from source

)

select * from renamed
