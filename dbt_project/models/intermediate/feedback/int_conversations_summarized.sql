-- One row per conversation: the customer's labels (workflow, segment, persona, channel, experiment
-- variant) from its first request, and what its traces cost. Cost is summed from fct_traces, never
-- computed here.

-- A table, built once per run: as a view, every reader (int_feedback_rated in each of three marts, and the
-- data tests) ranked and summed every request and trace of the history again.
{{ config(materialized='table') }}

with

requests as (

    select * from {{ ref('fct_requests') }}
    where conversation_id is not null

),

traces as (

    select * from {{ ref('fct_traces') }}
    where conversation_id is not null

),

requests_ranked as (

    -- A conversation's labels are those of its first request: one set per conversation, so its
    -- ratings and its cost always land in the same group.
    select
        *,
        row_number() over (
            partition by organization_id, conversation_id
            order by requested_at, request_id
        ) as request_rank

    from requests

),

traces_ranked as (

    select
        *,
        row_number() over (
            partition by organization_id, conversation_id
            order by started_at, trace_id
        ) as trace_rank

    from traces

),

request_totals as (

    select
        organization_id,
        conversation_id,
        count(*) as requests

    from requests

    group by organization_id, conversation_id

),

trace_totals as (

    select
        organization_id,
        conversation_id,
        count(*) as traces,
        cast(sum(pending_calls) as bigint) as pending_calls,
        {{ money('sum(cost_usd)') }} as cost_usd

    from traces

    group by organization_id, conversation_id

),

conversations as (

    select
        organization_id,
        conversation_id
    from request_totals

    union

    select
        organization_id,
        conversation_id
    from trace_totals

),

final as (

    select
        -- ids
        conversations.organization_id,
        conversations.conversation_id,

        -- labels: the first request's, the first trace's workflow when no request was logged
        coalesce(first_requests.workflow, first_traces.workflow) as workflow,
        first_requests.customer_user_id,
        first_requests.customer_segment,
        first_requests.customer_persona,
        first_requests.customer_channel,
        first_requests.customer_experiment_variant,

        -- counts
        coalesce(request_totals.requests, 0) as requests,
        coalesce(trace_totals.traces, 0) as traces,
        coalesce(trace_totals.pending_calls, 0) as pending_calls,

        -- money: priced and provider-reported calls (0 for a conversation without LLM calls)
        {{ money('coalesce(trace_totals.cost_usd, 0)') }} as cost_usd

    from conversations

    left join request_totals
        on
            conversations.organization_id = request_totals.organization_id
            and conversations.conversation_id = request_totals.conversation_id

    left join trace_totals
        on
            conversations.organization_id = trace_totals.organization_id
            and conversations.conversation_id = trace_totals.conversation_id

    left join requests_ranked as first_requests
        on
            conversations.organization_id = first_requests.organization_id
            and conversations.conversation_id = first_requests.conversation_id
            and first_requests.request_rank = 1

    left join traces_ranked as first_traces
        on
            conversations.organization_id = first_traces.organization_id
            and conversations.conversation_id = first_traces.conversation_id
            and first_traces.trace_rank = 1

)

select * from final
