-- One row per disagreement between the public price maps about a seeded model (as the price builder
-- reported it), with the map the seed followed and what the ledger prices with that model, so an
-- operator can see which disagreements carry real spend.

with

disagreements as (

    select * from {{ ref('stg_pricing__price_map_disagreements') }}

),

price_overrides as (

    select * from {{ ref('stg_pricing__price_overrides') }}

),

llm_calls as (

    select * from {{ ref('fct_llm_calls') }}

),

ledger_usage as (

    -- calls priced from the model's provider prices (an override does not use them)
    select
        provider,
        lower(priced_model) as model_key,
        count(*) as ledger_calls,
        {{ money('sum(computed_cost_usd)') }} as ledger_computed_cost_usd,
        max(started_at) as last_call_started_at

    from llm_calls

    where price_id is not null and price_source <> 'override'

    group by provider, lower(priced_model)

),

overridden_models as (

    select distinct
        provider,
        model_key

    from price_overrides

),

final as (

    select
        -- what is compared
        disagreements.provider,
        disagreements.model,
        disagreements.usage_type,
        disagreements.service_tier,
        disagreements.input_tokens_above,
        disagreements.disagreement,

        -- each map's rate and the seed's, USD per million tokens (NULL = not priced)
        disagreements.litellm_usd_per_mtok,
        disagreements.genai_prices_usd_per_mtok,
        disagreements.langfuse_usd_per_mtok,
        disagreements.seed_usd_per_mtok,
        disagreements.seed_source,

        -- what rides on it
        overridden_models.model_key is not null as has_price_override,
        coalesce(ledger_usage.ledger_calls, 0) as ledger_calls,
        {{ money('coalesce(ledger_usage.ledger_computed_cost_usd, 0)') }} as ledger_computed_cost_usd,
        ledger_usage.last_call_started_at

    from disagreements

    left join overridden_models
        on
            disagreements.provider = overridden_models.provider
            and disagreements.model_key = overridden_models.model_key

    left join ledger_usage
        on
            disagreements.provider = ledger_usage.provider
            and disagreements.model_key = ledger_usage.model_key

)

select * from final
