-- One row per organization, API key and UTC day with any rate-limit decision: allowed versus blocked.
-- Per organization and day, sum over the keys. Rebuilt whole on every run (decisions are small).

with

rate_limit_events as (

    select * from {{ ref('stg_platform__rate_limit_events') }}

),

final as (

    select
        -- grain
        organization_id,
        api_key_id,
        cast(occurred_at as date) as activity_date,

        -- decisions
        count(*) as decisions,
        count(case when not is_blocked then 1 end) as allowed_events,
        count(case when is_blocked then 1 end) as blocked_events,
        {{ ratio('count(case when is_blocked then 1 end)', 'count(*)') }} as blocked_share,

        -- the limit applied (the largest, should it change during the day)
        max(request_limit) as request_limit,
        max(window_seconds) as window_seconds,

        -- timestamps
        min(case when is_blocked then occurred_at end) as first_blocked_at,
        max(case when is_blocked then occurred_at end) as last_blocked_at

    from rate_limit_events

    group by organization_id, api_key_id, cast(occurred_at as date)

)

select * from final
