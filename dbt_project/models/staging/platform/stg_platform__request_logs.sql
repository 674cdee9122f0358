{{ config(event_time='requested_at') }}

with

source as (

    select * from {{ ref('base_platform__logs') }}

),

renamed as (

    select
        -- ids
        id as request_id,
        organization_id,
        api_key_id,
        conversation_id,
        trace_id,

        -- request
        method,
        endpoint,
        workflow,
        status_code,
        duration_ms,

        -- error
        error__status as error_status,
        error__detail as error_detail,
        error__traceback as error_traceback,

        -- customer data
        customer_data__user_id as customer_user_id,
        customer_data__segment as customer_segment,
        customer_data__persona as customer_persona,
        customer_data__channel as customer_channel,
        customer_data__experiment_variant as customer_experiment_variant,

        -- timestamps
        -- quoted: a keyword on other warehouses
        "timestamp" as requested_at,  -- noqa: RF06
        _loaded_at as loaded_at,

        -- load metadata
        _batch_id as batch_id

    from source

)

select * from renamed
