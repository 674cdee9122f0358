with

source as (

    select * from {{ ref('base_platform__organizations') }}

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
