-- One row: the time the age-based alert rules (pending calls, stale ingestion) are evaluated at, and the
-- newest record of each event endpoint. The evaluation time is the var alerts_as_of, else the end of the
-- run's window (window_end), but never earlier than the newest record: a backfill of old days must not make
-- current conditions look younger (and clear them). Without either var it is the newest record, so a build
-- of the same data gives the same alerts.

with

request_logs as (

    select max(requested_at) as newest_at from {{ ref('stg_platform__request_logs') }}

),

spans as (

    select max(started_at) as newest_at from {{ ref('stg_platform__spans') }}

),

rate_limit_events as (

    select max(occurred_at) as newest_at from {{ ref('stg_platform__rate_limit_events') }}

),

newest_records as (

    select
        request_logs.newest_at as newest_log_at,
        spans.newest_at as newest_span_at,
        rate_limit_events.newest_at as newest_rate_limit_event_at

    from request_logs

    cross join spans

    cross join rate_limit_events

),

final as (

    select
        {%- set requested = alert_evaluation_time_var() %}
        {%- set newest = 'greatest(newest_log_at, newest_span_at, newest_rate_limit_event_at)' %}
        cast(
            {% if requested is none %}{{ newest }}{% else %}greatest({{ requested }}, {{ newest }}){% endif %}
            as timestamp
        ) as evaluated_at,
        newest_log_at,
        newest_span_at,
        newest_rate_limit_event_at

    from newest_records

)

select * from final
