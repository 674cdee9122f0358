-- One row per endpoint, HTTP method and UTC day with any request: requests by status class and latency.
-- A request counts on the day of its requested_at, every status included (401s and 429s too). Rebuilt
-- whole from fct_requests on every run.

{%- set status_classes = ['1xx', '2xx', '3xx', '4xx', '5xx'] %}

with

requests as (

    select * from {{ ref('fct_requests') }}

),

final as (

    select
        -- grain
        endpoint,
        method,
        request_date,

        -- requests
        count(*) as requests,
        {% for status_class in status_classes -%}
            count(case when status_class = '{{ status_class }}' then 1 end) as requests_{{ status_class }},
        {% endfor -%}
        {{ ratio("count(case when status_class = '5xx' then 1 end)", 'count(*)') }} as server_error_rate,
        count(distinct organization_id) as organizations,

        -- latency
        {{ latency_percentiles('duration_ms') }}

    from requests

    group by endpoint, method, request_date

)

select * from final
