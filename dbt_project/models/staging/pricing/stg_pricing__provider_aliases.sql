-- Reported provider ids the price lookup reads as another provider (seed provider_aliases): `aws` is priced
-- as `bedrock`, `together` as `together_ai`. A map provider that lists itself among the providers it
-- prices (genai-prices' `google`: the Gemini API and Vertex AI) is a provider of its own, not an alias.

with

source as (

    select * from {{ ref('provider_aliases') }}

),

providers_of_their_own as (

    select map_provider from source
    where map_provider = provider

),

aliases as (

    select distinct
        map_provider as reported_provider,
        provider

    from source

    where
        map_provider <> provider
        and map_provider not in (select providers_of_their_own.map_provider from providers_of_their_own)

)

select * from aliases
