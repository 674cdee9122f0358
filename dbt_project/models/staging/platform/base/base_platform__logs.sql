-- One row per request log id of raw.logs: the last delivered version (the contract's rule for events).

{{ config(unique_key='id', event_time='timestamp') }}

with

deduplicated as (

    {{ latest_version(source('raw', 'logs'), 'id', '_delivery_seq desc') }}

)

-- every column of the raw table as loaded; the staging model names the ones it reads
select * from deduplicated  -- noqa: AM04
