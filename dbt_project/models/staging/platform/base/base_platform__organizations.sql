-- One row per organization id of raw.organizations. A snapshot: the version with the latest updated_at
-- wins, so a stale one delivered late does not; delivery order breaks ties.

{{ config(unique_key='id') }}

with

deduplicated as (

    {{ latest_version(source('raw', 'organizations'), 'id', 'updated_at desc, _delivery_seq desc') }}

)

-- every column of the raw table as loaded; the staging model names the ones it reads
select * from deduplicated  -- noqa: AM04
