{#- The model-level half of the price lookup, on DISTINCT reported (provider, model) pairs (a few hundred),
    never per call: which priced model a reported id resolves to, which price rows can price it, and a
    fingerprint of those rows. int_pricing__price_list puts the three together: int_llm_calls_priced prices
    calls from it, and fct_llm_calls finds in it the models whose prices changed since it priced their calls. -#}

{% macro priced_models(reported_models) -%}
    {#- (provider, model, price_provider, priced_model) for each (provider, model) of `reported_models`:
        price_provider is the reported provider, or the provider it is an alias of (stg_pricing__provider_aliases);
        priced_model comes from its exact match rule of the lower-cased id, else the longest matching prefix
        rule, NULL when no rule matches. A prefix is compared with substring, not LIKE, so `_` and `%` in ids
        are plain text. -#}
    select
        provider,
        model,
        price_provider,
        priced_model

    from (
        select
            reported.provider,
            reported.model,
            reported.price_provider,
            coalesce(exact_rules.priced_model, prefix_rules.priced_model) as priced_model,
            row_number() over (
                partition by reported.provider, reported.model
                order by length(prefix_rules.pattern) desc
            ) as prefix_rank

        from (
            select
                reported_models.provider,
                reported_models.model,
                coalesce(aliases.provider, reported_models.provider) as price_provider

            from {{ reported_models }} as reported_models

            left join {{ ref('stg_pricing__provider_aliases') }} as aliases
                on reported_models.provider = aliases.reported_provider
        ) as reported

        left join {{ ref('stg_pricing__model_match_rules') }} as exact_rules
            on
                reported.price_provider = exact_rules.provider
                and exact_rules.match_type = 'exact'
                and lower(reported.model) = exact_rules.pattern

        left join {{ ref('stg_pricing__model_match_rules') }} as prefix_rules
            on
                reported.price_provider = prefix_rules.provider
                and prefix_rules.match_type = 'prefix'
                and substring(lower(reported.model), 1, length(prefix_rules.pattern)) = prefix_rules.pattern
    ) as candidates

    where prefix_rank = 1
{%- endmacro %}


{% macro model_price_rows(priced_models) -%}
    {#- Every price row that can price a reported model, with is_override: its price overrides (matched
        exactly on the price provider and lower-cased reported id) and the provider prices of its priced
        model. -#}
    {%- set sources = [
        ('stg_pricing__price_overrides', 'true', 'lower(priced_models.model)'),
        ('stg_pricing__provider_prices', 'false', 'lower(priced_models.priced_model)'),
    ] -%}
    {%- for relation, is_override, match_key in sources %}
        select
            priced_models.provider,
            priced_models.model,
            {{ is_override }} as is_override,
            {% for column in staged_price_row_columns() if column not in ('provider', 'model') -%}
                price_rows.{{ column }}{% if not loop.last %},{% endif %}
            {% endfor %}
        from {{ priced_models }} as priced_models

        inner join {{ ref(relation) }} as price_rows
            on
                priced_models.price_provider = price_rows.provider
                and {{ match_key }} = price_rows.model_key
        {% if not loop.last %}union all{% endif %}
    {%- endfor %}
{%- endmacro %}


{% macro price_list_hashes(priced_models, model_price_rows) -%}
    {#- (provider, model, priced_model, price_list_hash): md5 of the priced model and the hashes of every
        price row that can price the reported model. Any edit that can change the cost of one of its calls
        (a rate, a validity, a new version, tier or threshold, an override, a match rule) changes it. -#}
    select
        priced_models.provider,
        priced_models.model,
        priced_models.priced_model,
        {{ dbt.hash(
            "coalesce(priced_models.priced_model, '~') || '|' || coalesce("
            ~ dbt.listagg('model_price_rows.price_hash', "','", 'order by model_price_rows.price_hash')
            ~ ", '')"
        ) }} as price_list_hash

    from {{ priced_models }} as priced_models

    left join {{ model_price_rows }} as model_price_rows
        on
            priced_models.provider = model_price_rows.provider
            and priced_models.model = model_price_rows.model

    group by priced_models.provider, priced_models.model, priced_models.priced_model
{%- endmacro %}
