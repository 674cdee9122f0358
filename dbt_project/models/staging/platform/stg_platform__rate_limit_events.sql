{{ config(event_time='occurred_at') }}

with

source as (

    select * from {{ ref('base_platform__rate_limits') }}

),

renamed as (

    select
        -- ids
        id as rate_limit_event_id,
        organization_id,
        api_key_id,

        -- decision
        endpoint,
        outcome,
        outcome = 'blocked' as is_blocked,
        "limit" as request_limit,
        window_seconds,

        -- timestamps
        occurred_at,
        _loaded_at as loaded_at,

        -- load metadata
        _batch_id as batch_id

    from source

)

select * from renamed
