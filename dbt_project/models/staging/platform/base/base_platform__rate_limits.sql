-- One row per rate-limit event id of raw.rate_limits: the last delivered version (the contract's rule for
-- events).

{{ config(unique_key='id', event_time='occurred_at') }}

with

deduplicated as (

    {{ latest_version(source('raw', 'rate_limits'), 'id', '_delivery_seq desc') }}

)

-- every column of the raw table as loaded; the staging model names the ones it reads
select * from deduplicated  -- noqa: AM04
