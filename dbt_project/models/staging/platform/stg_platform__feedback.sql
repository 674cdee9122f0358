{{ config(event_time='created_at') }}

with

source as (

    select * from {{ ref('base_platform__feedback') }}

),

renamed as (

    select
        -- ids
        id as feedback_id,
        organization_id,
        conversation_id,
        trace_id,

        -- feedback
        reviewer,
        rating,
        comment as feedback_comment,

        -- timestamps
        created_at,
        _loaded_at as loaded_at,

        -- load metadata
        _batch_id as batch_id

    from source

)

select * from renamed
