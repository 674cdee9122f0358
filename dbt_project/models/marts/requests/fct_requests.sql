-- One row per request log. Incremental: a run rebuilds the requests received in its event window
-- (vars window_start/window_end; all history without them).

{{ config(
    event_time='requested_at',
    materialized='incremental',
    unique_key='request_id',
) }}

with

request_logs as (

    select * from {{ ref('stg_platform__request_logs') }}

),

final as (

    select
        -- ids
        request_id,
        organization_id,
        api_key_id,
        conversation_id,
        trace_id,

        -- request
        method,
        endpoint,
        workflow,
        status_code,
        {{ status_class('status_code') }} as status_class,
        duration_ms,
        error_status,
        error_detail,

        -- customer data
        customer_user_id,
        customer_segment,
        customer_persona,
        customer_channel,
        customer_experiment_variant,

        -- timestamps
        requested_at,
        cast(requested_at as date) as request_date

    from request_logs

    where {{ in_event_window('requested_at') }}

)

select * from final
