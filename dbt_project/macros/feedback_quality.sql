{% macro is_positive_rating(rating) -%}
    {#- The one definition of a positive rating: at least the var `positive_rating_min` (default 4, on the
        contract's 1-5 scale). -#}
    {%- set minimum = var('positive_rating_min', 4) -%}
    {%- if minimum is not number or minimum != minimum | int or minimum < 1 or minimum > 5 -%}
        {{ exceptions.raise_compiler_error(
            'positive_rating_min must be a whole rating from 1 to 5, got ' ~ minimum
        ) }}
    {%- endif -%}
    ({{ rating }} >= {{ minimum | int }})
{%- endmacro %}


{% macro feedback_quality_rollup(rated_feedback, group_columns) -%}
    {#- Feedback measures of `rated_feedback` (rows of int_feedback_rated) per `group_columns`: the marts
        agg_feedback_quality and agg_feedback_experiment_daily differ only in their grain.

        Ratings count every feedback; a conversation counts once per group, with its latest rating there
        (`is_conversation_rating`), and brings its whole cost. Cost per positively rated conversation is the
        cost of every rated conversation over the positively rated ones: what one happy conversation costs,
        the unhappy ones included. -#}
    {%- set grain = group_columns | join(',\n        ') %}
    select
        -- grain
        {{ grain }},

        -- ratings
        count(*) as ratings,
        count(case when is_positive then 1 end) as positive_ratings,
        {{ ratio('sum(rating)', 'count(*)') }} as mean_rating,
        {{ ratio('count(case when is_positive then 1 end)', 'count(*)') }} as share_positive,

        -- conversations
        count(case when is_conversation_rating then 1 end) as rated_conversations,
        count(case when is_conversation_rating and is_positive then 1 end) as positive_conversations,
        cast(coalesce(sum(case when is_conversation_rating then conversation_pending_calls end), 0) as bigint)
            as pending_calls,

        -- money: priced and provider-reported calls; pending_calls says what is not in it yet
        {{ money('coalesce(sum(case when is_conversation_rating then conversation_cost_usd end), 0)') }}
            as rated_conversations_cost_usd,
        {{ money_per(
            'sum(case when is_conversation_rating then conversation_cost_usd end)',
            'count(case when is_conversation_rating then 1 end)'
        ) }} as cost_per_conversation_usd,
        {{ money_per(
            'sum(case when is_conversation_rating then conversation_cost_usd end)',
            'count(case when is_conversation_rating and is_positive then 1 end)'
        ) }} as cost_per_positive_conversation_usd

    from {{ rated_feedback }}

    group by
        {{ grain }}
{%- endmacro %}
