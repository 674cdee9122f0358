-- Rules from reported model ids to priced models (seed model_match_rules): exact ids and id prefixes,
-- lower-cased; the seed's tests keep (provider, match type, pattern) unambiguous.

with

source as (

    select * from {{ ref('model_match_rules') }}

),

renamed as (

    select
        -- rule
        provider,
        match_type,
        pattern,

        -- the priced model it leads to (provider_prices.model, compared lower-cased)
        model as priced_model,
        lower(model) as priced_model_key,

        -- lineage
        rule_source

    from source

)

select * from renamed
