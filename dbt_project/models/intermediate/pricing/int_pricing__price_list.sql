-- The price list: for every (provider, model) the platform reports, the priced model its id resolves to,
-- every price row that can price it, and a fingerprint of those rows. Built once, on distinct reported
-- models (macros/price_lookup.sql), never per call: int_llm_calls_priced matches calls against it, and
-- fct_llm_calls compares the fingerprints of its stored calls with it to find the models to re-price.
--
-- A view: reading it costs what computing its CTEs inline did, and it is never older than the seeds and the
-- spans it reads (a table would have to be rebuilt before every reader, and would go stale when it is not).

with

llm_spans as (

    select * from {{ ref('stg_platform__llm_spans') }}

),

reported_models as (

    select distinct
        provider,
        model

    from llm_spans

),

priced_models as (

    {{ priced_models('reported_models') }}

),

model_price_rows as (

    {{ model_price_rows('priced_models') }}

),

model_price_lists as (

    {{ price_list_hashes('priced_models', 'model_price_rows') }}

),

final as (

    select
        -- the reported model, and what prices it
        model_price_lists.provider,
        model_price_lists.model,
        model_price_lists.priced_model,
        model_price_lists.price_list_hash,

        -- one price row that can price it (every column NULL when none can)
        model_price_rows.is_override,
        {% for column in staged_price_row_columns() if column not in ('provider', 'model') -%}
            model_price_rows.{{ column }}{% if not loop.last %},{% endif %}
        {% endfor %}

    from model_price_lists

    left join model_price_rows
        on
            model_price_lists.provider = model_price_rows.provider
            and model_price_lists.model = model_price_rows.model

)

select * from final
