{{ config(event_time='started_at') }}

with

source as (

    select * from {{ ref('base_platform__traces') }}

),

renamed as (

    select
        -- ids
        span_id,
        trace_id,
        parent_span_id,
        organization_id,
        conversation_id,

        -- span
        workflow,
        kind,
        name as span_name,
        status,
        duration_ms,
        attributes,
        payload,

        -- timestamps
        started_at,
        _loaded_at as loaded_at,

        -- load metadata
        _batch_id as batch_id

    from source

)

select * from renamed
