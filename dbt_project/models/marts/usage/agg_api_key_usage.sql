-- One row per API key: in the platform's key snapshot, or seen in request logs or rate-limit decisions
-- (a key missing from the snapshot is worth seeing). Counts cover events up to the reference date
-- as_of_date (var `as_of_date`; default the latest day with a request or rate-limit decision), and
-- "last 30 days" means the 30 days ending on it, so a rebuild of the same data never changes the mart.
-- Rebuilt whole on every run.

with

api_keys as (

    select * from {{ ref('stg_platform__api_keys') }}

),

requests as (

    select * from {{ ref('fct_requests') }}
    where api_key_id is not null

),

rate_limit_events as (

    select
        *,
        cast(occurred_at as date) as occurred_date

    from {{ ref('stg_platform__rate_limit_events') }}

    where api_key_id is not null

),

traces as (

    select * from {{ ref('fct_traces') }}

),

latest_event_days as (

    select max(request_date) as latest_day from requests

    union all

    select max(occurred_date) as latest_day from rate_limit_events

),

reference_date as (

    select {{ as_of_date('(select max(latest_event_days.latest_day) from latest_event_days)') }} as as_of_date

),

requests_as_of as (

    select
        requests.*,
        reference_date.as_of_date,
        {{ in_trailing_days('requests.request_date', 'reference_date.as_of_date') }}
            as is_in_last_30_days

    from requests

    cross join reference_date

    where requests.request_date <= reference_date.as_of_date

),

rate_limit_events_as_of as (

    select
        rate_limit_events.*,
        reference_date.as_of_date,
        {{ in_trailing_days('rate_limit_events.occurred_date', 'reference_date.as_of_date') }}
            as is_in_last_30_days

    from rate_limit_events

    cross join reference_date

    where rate_limit_events.occurred_date <= reference_date.as_of_date

),

traffic_keys as (

    -- The owner of a key the snapshot does not know: the organization its traffic came from.
    select
        api_key_id,
        min(organization_id) as organization_id

    from (
        select
            api_key_id,
            organization_id
        from requests_as_of

        union all

        select
            api_key_id,
            organization_id
        from rate_limit_events_as_of
    ) as traffic

    group by api_key_id

),

request_totals as (

    select
        requests_as_of.api_key_id,
        count(*) as requests,
        count(case when requests_as_of.is_in_last_30_days then 1 end) as requests_last_30_days,
        count(case when requests_as_of.requested_at >= api_keys.revoked_at then 1 end)
            as requests_after_revocation,
        max(requests_as_of.requested_at) as last_request_at

    from requests_as_of

    left join api_keys
        on requests_as_of.api_key_id = api_keys.api_key_id

    group by requests_as_of.api_key_id

),

key_traces as (

    -- Each trace once per key, in the last 30 days when any of its requests is.
    select
        api_key_id,
        trace_id,
        {{ dbt.bool_or('is_in_last_30_days') }} as is_in_last_30_days

    from requests_as_of

    where trace_id is not null

    group by api_key_id, trace_id

),

trace_totals as (

    select
        key_traces.api_key_id,
        cast(sum(traces.pending_calls) as bigint) as pending_calls,
        {{ money('sum(traces.cost_usd)') }} as cost_usd,
        {{ money('sum(case when key_traces.is_in_last_30_days then traces.cost_usd end)') }}
            as cost_last_30_days_usd

    from key_traces

    inner join traces
        on key_traces.trace_id = traces.trace_id

    group by key_traces.api_key_id

),

rate_limit_totals as (

    select
        api_key_id,
        count(case when not is_blocked then 1 end) as allowed_events,
        count(case when is_blocked then 1 end) as blocked_events,
        count(case when is_blocked and is_in_last_30_days then 1 end) as blocked_events_last_30_days,
        max(case when is_blocked then occurred_at end) as last_blocked_at

    from rate_limit_events_as_of

    group by api_key_id

),

all_keys as (

    select
        coalesce(api_keys.api_key_id, traffic_keys.api_key_id) as api_key_id,
        coalesce(api_keys.organization_id, traffic_keys.organization_id) as organization_id,
        api_keys.api_key_id is not null as is_in_key_snapshot

    from api_keys

    full outer join traffic_keys
        on api_keys.api_key_id = traffic_keys.api_key_id

),

final as (

    select
        -- ids
        all_keys.api_key_id,
        all_keys.organization_id,

        -- key
        api_keys.api_key_name,
        api_keys.api_key_prefix,
        all_keys.is_in_key_snapshot,
        coalesce(api_keys.is_revoked, false) as is_revoked,
        -- what a security review looks for: keys the platform says were never used
        coalesce(api_keys.is_never_used, false) as is_never_used,
        coalesce(request_totals.requests_after_revocation, 0) > 0 as has_traffic_after_revocation,

        -- requests
        coalesce(request_totals.requests, 0) as requests,
        coalesce(request_totals.requests_last_30_days, 0) as requests_last_30_days,
        coalesce(request_totals.requests_after_revocation, 0) as requests_after_revocation,

        -- rate limits
        coalesce(rate_limit_totals.allowed_events, 0) as allowed_events,
        coalesce(rate_limit_totals.blocked_events, 0) as blocked_events,
        coalesce(rate_limit_totals.blocked_events_last_30_days, 0) as blocked_events_last_30_days,

        -- money: LLM cost of the traces of the key's requests; pending_calls says what is not in it yet
        coalesce(trace_totals.pending_calls, 0) as pending_calls,
        {{ money('coalesce(trace_totals.cost_usd, 0)') }} as cost_usd,
        {{ money('coalesce(trace_totals.cost_last_30_days_usd, 0)') }} as cost_last_30_days_usd,

        -- timestamps
        api_keys.created_at,
        api_keys.revoked_at,
        api_keys.last_used_at,
        request_totals.last_request_at,
        rate_limit_totals.last_blocked_at,

        -- the reference date of every count above
        reference_date.as_of_date

    from all_keys

    cross join reference_date

    left join api_keys
        on all_keys.api_key_id = api_keys.api_key_id

    left join request_totals
        on all_keys.api_key_id = request_totals.api_key_id

    left join trace_totals
        on all_keys.api_key_id = trace_totals.api_key_id

    left join rate_limit_totals
        on all_keys.api_key_id = rate_limit_totals.api_key_id

)

select * from final
