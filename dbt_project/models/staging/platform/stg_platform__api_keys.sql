with

source as (

    select * from {{ ref('base_platform__keys') }}

),

renamed as (

    select
        -- ids
        id as api_key_id,
        organization_id,

        -- key
        name as api_key_name,
        prefix as api_key_prefix,
        revoked_at is not null as is_revoked,
        last_used_at is null as is_never_used,

        -- timestamps
        created_at,
        last_used_at,
        revoked_at,
        _loaded_at as loaded_at,

        -- load metadata
        _batch_id as batch_id

    from source

)

select * from renamed
