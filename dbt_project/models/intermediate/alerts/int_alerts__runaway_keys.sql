-- Runaway API keys: a key whose rate-limit decisions were blocked more than `threshold` times in a UTC hour
-- (abuse, or a client retrying in a loop), named with its organization.

with

rate_limit_events as (

    select * from {{ ref('stg_platform__rate_limit_events') }}

),

rules as (

    select * from {{ ref('alert_thresholds') }}
    where alert_rule = 'runaway_key_hour'

),

key_hours as (

    select
        api_key_id,
        organization_id,
        {{ dbt.date_trunc('hour', 'occurred_at') }} as hour_start,
        count(*) as decisions,
        count(case when is_blocked then 1 end) as blocked_decisions

    from rate_limit_events

    where api_key_id is not null

    group by api_key_id, organization_id, {{ dbt.date_trunc('hour', 'occurred_at') }}

),

final as (

    select
        {{ alert_row(
            alert_type="'runaway_key'",
            alert_rule='rules.alert_rule',
            subject_type="'api_key'",
            subject='key_hours.api_key_id',
            window_grain="'hour'",
            window_start='key_hours.hour_start',
            window_end=dbt.dateadd('hour', 1, 'key_hours.hour_start'),
            measure="'blocked_decisions'",
            unit="'count'",
            observed='key_hours.blocked_decisions',
            threshold='rules.threshold',
            critical='rules.critical_threshold',
            volume='key_hours.decisions',
            organization_id='key_hours.organization_id',
            api_key_id='key_hours.api_key_id',
        ) }}

    from key_hours

    cross join rules

    where key_hours.blocked_decisions > rules.threshold

)

select * from final
