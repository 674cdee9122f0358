-- Pending cost: calls without a price (cost_status pending, so their cost is missing from every total).
-- A provider/model of pending_llm_calls fires while its oldest pending call started more than `threshold`
-- hours before the evaluation time (one alert per episode, keyed by that call's start, resolved once
-- priced; ages to the evaluation time, not the build's wall clock, so a rebuild says the same); an
-- organization fires for a month in which more than `threshold` of its calls are pending (its statement is
-- incomplete).

with

llm_calls as (

    select * from {{ ref('fct_llm_calls') }}

),

pending_llm_calls as (

    select * from {{ ref('pending_llm_calls') }}

),

evaluation_time as (

    select * from {{ ref('int_alerts__evaluation_time') }}

),

rules as (

    select * from {{ ref('alert_thresholds') }}

),

pending_models as (

    select
        provider,
        model,
        pending_calls,
        oldest_started_at as oldest_pending_at

    from pending_llm_calls

),

aged as (

    select
        pending_models.*,
        evaluation_time.evaluated_at,
        {{ alert_elapsed('pending_models.oldest_pending_at', 'evaluation_time.evaluated_at') }}
            as oldest_pending_age_hours

    from pending_models

    cross join evaluation_time

),

org_months as (

    select
        organization_id,
        cast({{ dbt.date_trunc('month', 'call_date') }} as date) as month_start,
        count(*) as calls,
        {{ ratio("count(case when cost_status = 'pending' then 1 end)", 'count(*)') }} as pending_share

    from llm_calls

    group by organization_id, cast({{ dbt.date_trunc('month', 'call_date') }} as date)

),

age_alerts as (

    select
        {{ alert_row(
            alert_type="'pending_cost'",
            alert_rule='rules.alert_rule',
            subject_type="'model'",
            subject="aged.provider || '/' || aged.model",
            window_grain="'ongoing'",
            window_start='aged.oldest_pending_at',
            window_end='aged.evaluated_at',
            measure="'oldest_pending_age_hours'",
            unit="'hours'",
            observed='aged.oldest_pending_age_hours',
            threshold='rules.threshold',
            critical='rules.critical_threshold',
            volume='aged.pending_calls',
            provider='aged.provider',
            model='aged.model',
        ) }}

    from aged

    inner join rules
        on rules.alert_rule = 'pending_cost_age'

    where aged.oldest_pending_age_hours > rules.threshold

),

share_alerts as (

    select
        {{ alert_row(
            alert_type="'pending_cost'",
            alert_rule='rules.alert_rule',
            subject_type="'organization'",
            subject='org_months.organization_id',
            window_grain="'month'",
            window_start='org_months.month_start',
            window_end=dbt.dateadd('month', 1, 'org_months.month_start'),
            measure="'pending_share'",
            unit="'share'",
            observed='org_months.pending_share',
            threshold='rules.threshold',
            critical='rules.critical_threshold',
            volume='org_months.calls',
            organization_id='org_months.organization_id',
        ) }}

    from org_months

    inner join rules
        on rules.alert_rule = 'pending_cost_share_organization_month'

    where org_months.pending_share > rules.threshold and org_months.calls >= coalesce(rules.min_volume, 0)

),

final as (

    select * from age_alerts

    union all

    select * from share_alerts

)

select * from final
