-- One row per group of failed requests (4xx and 5xx): endpoint, method, UTC day, status code and the
-- platform's structured error (status, detail), with one sample request and traceback, so on-call reads the
-- same columns whatever broke. The sample is the latest request of the group that carries a traceback
-- (else the latest request). Rebuilt whole on every run.

with

requests as (

    select * from {{ ref('fct_requests') }}
    where status_class in ('4xx', '5xx')

),

request_logs as (

    -- the traceback is not part of fct_requests' contract
    select
        request_id,
        error_traceback

    from {{ ref('stg_platform__request_logs') }}

),

failed_requests as (

    select
        requests.*,
        request_logs.error_traceback

    from requests

    left join request_logs
        on requests.request_id = request_logs.request_id

),

error_groups as (

    select
        request_date,
        endpoint,
        method,
        status_class,
        status_code,
        error_status,
        error_detail,
        count(*) as requests,
        count(distinct organization_id) as organizations,
        count(error_traceback) as requests_with_traceback,
        min(requested_at) as first_failed_at,
        max(requested_at) as last_failed_at

    from failed_requests

    group by request_date, endpoint, method, status_class, status_code, error_status, error_detail

),

samples as (

    select
        *,
        row_number() over (
            partition by request_date, endpoint, method, status_code, error_status, error_detail
            order by
                case when error_traceback is null then 1 else 0 end,
                requested_at desc,
                request_id desc
        ) as sample_rank

    from failed_requests

),

final as (

    select
        -- grain
        error_groups.request_date,
        error_groups.endpoint,
        error_groups.method,
        error_groups.status_class,
        error_groups.status_code,
        error_groups.error_status,
        error_groups.error_detail,

        -- counts
        error_groups.requests,
        error_groups.organizations,
        error_groups.requests_with_traceback,

        -- one sample to start debugging from (its trace: fct_trace_steps)
        samples.request_id as sample_request_id,
        samples.trace_id as sample_trace_id,
        samples.error_traceback as sample_traceback,

        -- timestamps
        error_groups.first_failed_at,
        error_groups.last_failed_at

    from error_groups

    -- the grouping columns may be NULL (a failure without a structured error): match NULL to NULL
    inner join samples
        on
            samples.sample_rank = 1
            and error_groups.request_date = samples.request_date
            and error_groups.endpoint is not distinct from samples.endpoint
            and error_groups.method is not distinct from samples.method
            and error_groups.status_code = samples.status_code
            and error_groups.error_status is not distinct from samples.error_status
            and error_groups.error_detail is not distinct from samples.error_detail

)

select * from final
