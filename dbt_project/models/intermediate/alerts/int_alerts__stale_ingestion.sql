-- Stale ingestion: an event endpoint (logs, traces, rate-limits) whose newest record is more than
-- `threshold` hours older than the evaluation time: the platform stopped sending it, or its loads stopped
-- while the others ran. (A pipeline that stopped altogether builds no alerts: Dagster's freshness checks on
-- the raw assets catch that.) Feedback is left out: a quiet hour without feedback is normal.

with

evaluation_time as (

    select * from {{ ref('int_alerts__evaluation_time') }}

),

rules as (

    select * from {{ ref('alert_thresholds') }}
    where alert_rule = 'stale_ingestion'

),

newest_records as (

    select
        'logs' as source_endpoint,
        newest_log_at as newest_record_at,
        evaluated_at
    from evaluation_time

    union all

    select
        'traces' as source_endpoint,
        newest_span_at as newest_record_at,
        evaluated_at
    from evaluation_time

    union all

    select
        'rate-limits' as source_endpoint,
        newest_rate_limit_event_at as newest_record_at,
        evaluated_at
    from evaluation_time

),

ages as (

    select
        *,
        {{ alert_elapsed('newest_record_at', 'evaluated_at') }} as newest_record_age_hours

    from newest_records

    where newest_record_at is not null

),

final as (

    select
        {{ alert_row(
            alert_type="'stale_ingestion'",
            alert_rule='rules.alert_rule',
            subject_type="'source_endpoint'",
            subject='ages.source_endpoint',
            window_grain="'ongoing'",
            window_start='ages.newest_record_at',
            window_end='ages.evaluated_at',
            measure="'newest_record_age_hours'",
            unit="'hours'",
            observed='ages.newest_record_age_hours',
            threshold='rules.threshold',
            critical='rules.critical_threshold',
        ) }}

    from ages

    cross join rules

    where ages.newest_record_age_hours > rules.threshold

)

select * from final
