-- No call carries a price that the seeds do not hold: every call with a price row (priced, zero_rated,
-- or provider_reported beside a computed price) names a row of provider_prices or price_overrides with
-- the content it was priced with (same price_hash) and valid at the call's started_at (its day and, for a
-- time-of-day row, its time of day); a priced or
-- zero-rated call always has one.

with

llm_calls as (

    select * from {{ ref('fct_llm_calls') }}

),

provider_prices as (

    select * from {{ ref('stg_pricing__provider_prices') }}

),

price_overrides as (

    select * from {{ ref('stg_pricing__price_overrides') }}

),

price_rows as (

    select
        price_id,
        price_hash,
        valid_from_at,
        valid_to_at,
        utc_second_from,
        utc_second_to

    from provider_prices

    union all

    select
        price_id,
        price_hash,
        valid_from_at,
        valid_to_at,
        utc_second_from,
        utc_second_to

    from price_overrides

)

select
    llm_calls.span_id,
    llm_calls.cost_status,
    llm_calls.price_id,
    llm_calls.started_at,
    price_rows.valid_from_at,
    price_rows.valid_to_at

from llm_calls

left join price_rows
    on
        llm_calls.price_id = price_rows.price_id
        and llm_calls.price_hash = price_rows.price_hash

where
    (llm_calls.price_id is not null or llm_calls.cost_status in ('priced', 'zero_rated'))
    and (
        price_rows.price_id is null
        or llm_calls.started_at < price_rows.valid_from_at
        or llm_calls.started_at >= price_rows.valid_to_at
        or {{ utc_second_of_day('llm_calls.started_at') }} < price_rows.utc_second_from
        or {{ utc_second_of_day('llm_calls.started_at') }} >= price_rows.utc_second_to
    )
