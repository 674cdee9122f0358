-- One row per API key id of raw.keys. A snapshot: the version with the latest last_used_at wins, so a stale
-- one delivered late does not; a never-used version (last_used_at NULL) is older than any use (NULLS LAST:
-- Postgres sorts NULL first in descending order unless told); delivery order breaks ties.

{{ config(unique_key='id') }}

with

deduplicated as (

    {{ latest_version(source('raw', 'keys'), 'id', 'last_used_at desc nulls last, _delivery_seq desc') }}

)

-- every column of the raw table as loaded; the staging model names the ones it reads
select * from deduplicated  -- noqa: AM04
