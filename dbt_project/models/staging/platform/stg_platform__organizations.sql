with

source as (

    -- A snapshot: the version with the latest updated_at wins, so a stale one delivered late does not.
    {{ latest_version(source('raw', 'organizations'), 'id', 'updated_at desc, _delivery_seq desc') }}

),

renamed as (

    select
        -- ids
        id as organization_id,

        -- organization
        name as organization_name,
        plan,
        segment,
        {{ money_from_double('monthly_budget_usd') }} as monthly_budget_usd,

        -- timestamps
        created_at,
        updated_at,
        _loaded_at as loaded_at,

        -- load metadata
        _batch_id as batch_id

    from source

)

select * from renamed
