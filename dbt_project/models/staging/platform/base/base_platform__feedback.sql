-- One row per feedback id of raw.feedback: the last delivered version (the contract's rule for events).

{{ config(unique_key='id', event_time='created_at') }}

with

deduplicated as (

    {{ latest_version(source('raw', 'feedback'), 'id', '_delivery_seq desc') }}

)

-- every column of the raw table as loaded; the staging model names the ones it reads
select * from deduplicated  -- noqa: AM04
