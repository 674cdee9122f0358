-- One row per feedback, with the rated conversation's labels and cost, whether the rating is positive
-- (the macro is_positive_rating: var positive_rating_min, default 4) and whether it is the rating that
-- counts its conversation on that day (the latest one).

-- A table, built once per run: three marts and the data tests read it.
{{ config(event_time='created_at', materialized='table') }}

with

feedback as (

    select * from {{ ref('stg_platform__feedback') }}

),

conversations as (

    select * from {{ ref('int_conversations_summarized') }}

),

feedback_ranked as (

    select
        *,
        cast(created_at as date) as feedback_date,
        row_number() over (
            partition by organization_id, conversation_id, cast(created_at as date)
            order by created_at desc, feedback_id desc
        ) as conversation_day_rank

    from feedback

),

final as (

    select
        -- ids
        feedback_ranked.feedback_id,
        feedback_ranked.organization_id,
        feedback_ranked.conversation_id,
        feedback_ranked.trace_id,

        -- rating
        feedback_ranked.reviewer,
        feedback_ranked.rating,
        {{ is_positive_rating('feedback_ranked.rating') }} as is_positive,
        -- a conversation not (yet) in the warehouse has no cost to count
        conversations.conversation_id is not null and feedback_ranked.conversation_day_rank = 1
            as is_conversation_rating,

        -- the rated conversation's labels
        conversations.workflow,
        conversations.customer_segment,
        conversations.customer_persona,
        conversations.customer_channel,
        conversations.customer_experiment_variant,

        -- the rated conversation's cost (NULL when it is not in the warehouse)
        conversations.pending_calls as conversation_pending_calls,
        conversations.cost_usd as conversation_cost_usd,

        -- timestamps
        feedback_ranked.created_at,
        feedback_ranked.feedback_date

    from feedback_ranked

    left join conversations
        on
            feedback_ranked.organization_id = conversations.organization_id
            and feedback_ranked.conversation_id = conversations.conversation_id

)

select * from final
