-- One row per organization, workflow, customer persona, channel, segment and UTC day with any feedback:
-- ratings, share positive and what the rated conversations cost (macro feedback_quality_rollup). Labels are
-- the rated conversation's (its first request's customer_data); a rating counts on the day it was given.
-- Rebuilt whole on every run.

with

rated_feedback as (

    select * from {{ ref('int_feedback_rated') }}

),

final as (

    {{ feedback_quality_rollup('rated_feedback', [
        'organization_id',
        'workflow',
        'customer_persona',
        'customer_channel',
        'customer_segment',
        'feedback_date',
    ]) }}

)

select * from final
