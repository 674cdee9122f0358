-- Where the public price maps disagree about a seeded model (seed price_map_disagreements).

with

source as (

    select * from {{ ref('price_map_disagreements') }}

),

renamed as (

    select
        -- what is compared
        provider,
        model,
        lower(model) as model_key,
        usage_type,
        service_tier,
        input_tokens_above,

        -- rates, USD per million tokens (NULL = the map does not price it)
        litellm_usd_per_mtok,
        genai_prices_usd_per_mtok,
        langfuse_usd_per_mtok,
        seed_usd_per_mtok,

        -- verdict
        seed_source,
        disagreement

    from source

)

select * from renamed
