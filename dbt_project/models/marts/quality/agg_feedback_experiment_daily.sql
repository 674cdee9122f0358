-- One row per organization, workflow, experiment variant and UTC day with any feedback: the same measures
-- as agg_feedback_quality, to compare the variants of an A/B experiment. Rebuilt whole on every run.

with

rated_feedback as (

    select * from {{ ref('int_feedback_rated') }}

),

final as (

    {{ feedback_quality_rollup('rated_feedback', [
        'organization_id',
        'workflow',
        'customer_experiment_variant',
        'feedback_date',
    ]) }}

)

select * from final
