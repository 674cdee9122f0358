-- One row per span id of raw.traces, of every kind: the last delivered version (the contract's rule for
-- events). Deduplicated before any filter on kind, since a correction may change a span's kind.

{{ config(unique_key='span_id', event_time='started_at') }}

with

deduplicated as (

    {{ latest_version(source('raw', 'traces'), 'span_id', '_delivery_seq desc') }}

)

-- every column of the raw table as loaded; the staging model names the ones it reads
select * from deduplicated  -- noqa: AM04
