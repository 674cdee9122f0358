-- One row per organization and UTC day with any request, LLM call or rate-limit decision. A request
-- counts on the day of its requested_at, a call on the day of its own started_at. Rebuilt whole from
-- the fact tables on every run, so a call priced late (or a windowed run) is reflected on its own day.

{%- set percentiles = {'p50': 0.5, 'p95': 0.95, 'p99': 0.99} %}

with

requests as (

    select * from {{ ref('fct_requests') }}

),

llm_calls as (

    select * from {{ ref('fct_llm_calls') }}

),

rate_limit_events as (

    select * from {{ ref('stg_platform__rate_limit_events') }}

),

request_days as (

    select
        organization_id,
        request_date as activity_date,
        count(*) as requests,
        count(case when status_class = '4xx' then 1 end) as requests_4xx,
        count(case when status_class = '5xx' then 1 end) as requests_5xx,
        {% for name, fraction in percentiles.items() -%}
            {{ percentile('duration_ms', fraction) }} as request_latency_{{ name }}_ms
            {%- if not loop.last %},{% endif %}
        {% endfor %}

    from requests

    group by organization_id, request_date

),

llm_call_days as (

    select
        organization_id,
        call_date as activity_date,
        count(*) as llm_calls,
        count(case when cost_status = 'pending' then 1 end) as pending_calls,
        cast(sum(input_tokens) as bigint) as input_tokens,
        cast(sum(uncached_input_tokens) as bigint) as uncached_input_tokens,
        cast(sum(cache_read_tokens) as bigint) as cache_read_tokens,
        cast(sum(cache_write_tokens) as bigint) as cache_write_tokens,
        cast(sum(output_tokens) as bigint) as output_tokens,
        cast(sum(reasoning_tokens) as bigint) as reasoning_tokens,
        {{ money('coalesce(sum(cost_usd), 0)') }} as cost_usd

    from llm_calls

    group by organization_id, call_date

),

rate_limit_days as (

    select
        organization_id,
        cast(occurred_at as date) as activity_date,
        count(case when is_blocked then 1 end) as blocked_by_rate_limit

    from rate_limit_events

    group by organization_id, cast(occurred_at as date)

),

org_days as (

    select
        organization_id,
        activity_date
    from request_days

    union

    select
        organization_id,
        activity_date
    from llm_call_days

    union

    select
        organization_id,
        activity_date
    from rate_limit_days

),

final as (

    select
        -- grain
        org_days.organization_id,
        org_days.activity_date,

        -- requests
        coalesce(request_days.requests, 0) as requests,
        coalesce(request_days.requests_4xx, 0) as requests_4xx,
        coalesce(request_days.requests_5xx, 0) as requests_5xx,
        coalesce(rate_limit_days.blocked_by_rate_limit, 0) as blocked_by_rate_limit,

        -- llm calls and tokens
        coalesce(llm_call_days.llm_calls, 0) as llm_calls,
        coalesce(llm_call_days.pending_calls, 0) as pending_calls,
        coalesce(llm_call_days.input_tokens, 0) as input_tokens,
        coalesce(llm_call_days.uncached_input_tokens, 0) as uncached_input_tokens,
        coalesce(llm_call_days.cache_read_tokens, 0) as cache_read_tokens,
        coalesce(llm_call_days.cache_write_tokens, 0) as cache_write_tokens,
        coalesce(llm_call_days.output_tokens, 0) as output_tokens,
        coalesce(llm_call_days.reasoning_tokens, 0) as reasoning_tokens,

        -- money: priced and provider-reported calls; pending_calls says what is not in it yet
        {{ money('coalesce(llm_call_days.cost_usd, 0)') }} as cost_usd,

        -- request latency, to the microsecond (NULL on a day without requests)
        {% for name in percentiles -%}
            cast(request_days.request_latency_{{ name }}_ms as numeric(18, 3))
                as request_latency_{{ name }}_ms
            {%- if not loop.last %},{% endif %}
        {% endfor %}

    from org_days

    left join request_days
        on
            org_days.organization_id = request_days.organization_id
            and org_days.activity_date = request_days.activity_date

    left join llm_call_days
        on
            org_days.organization_id = llm_call_days.organization_id
            and org_days.activity_date = llm_call_days.activity_date

    left join rate_limit_days
        on
            org_days.organization_id = rate_limit_days.organization_id
            and org_days.activity_date = rate_limit_days.activity_date

)

select * from final
