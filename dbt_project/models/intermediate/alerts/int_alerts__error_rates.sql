-- Error and failover rates of a UTC day above `threshold` (a share), with at least `min_volume` requests or
-- calls: an organization's requests answered 5xx, a provider/model's failed calls (from the BI marts), and
-- a provider's calls that failed over (failed, then followed by the next attempt of the same step).

with

org_days as (

    select * from {{ ref('agg_org_daily') }}

),

provider_model_days as (

    select * from {{ ref('agg_provider_model_daily') }}

),

llm_calls as (

    select * from {{ ref('fct_llm_calls') }}

),

rules as (

    select * from {{ ref('alert_thresholds') }}

),

next_attempts as (

    -- attempt n + 1 of a step means attempt n failed over
    select distinct
        trace_id,
        span_name,
        attempt - 1 as previous_attempt

    from llm_calls

    where attempt > 1

),

calls_failed_over as (

    select
        llm_calls.provider,
        llm_calls.call_date,
        case
            when llm_calls.status = 'error' and next_attempts.trace_id is not null then 1
            else 0
        end as failed_over

    from llm_calls

    left join next_attempts
        on
            llm_calls.trace_id = next_attempts.trace_id
            and llm_calls.span_name = next_attempts.span_name
            and llm_calls.attempt = next_attempts.previous_attempt

),

rates as (

    select
        'error_rate_organization_day' as alert_rule,
        'error_rate' as alert_type,
        'organization' as subject_type,
        organization_id as subject,
        organization_id,
        cast(null as varchar) as provider,
        cast(null as varchar) as model,
        'share_5xx' as measure,
        activity_date as period_date,
        requests as volume,
        {{ ratio('requests_5xx', 'requests') }} as observed_share

    from org_days

    union all

    select
        'error_rate_model_day' as alert_rule,
        'error_rate' as alert_type,
        'model' as subject_type,
        provider || '/' || model as subject,
        cast(null as varchar) as organization_id,
        provider,
        model,
        'failure_rate' as measure,
        call_date as period_date,
        calls as volume,
        failure_rate as observed_share

    from provider_model_days

    union all

    select
        'failover_rate_provider_day' as alert_rule,
        'failover_rate' as alert_type,
        'provider' as subject_type,
        provider as subject,
        cast(null as varchar) as organization_id,
        provider,
        cast(null as varchar) as model,
        'failover_rate' as measure,
        call_date as period_date,
        count(*) as volume,
        {{ ratio('sum(failed_over)', 'count(*)') }} as observed_share

    from calls_failed_over

    group by provider, call_date

),

final as (

    select
        {{ alert_row(
            alert_type='rates.alert_type',
            alert_rule='rates.alert_rule',
            subject_type='rates.subject_type',
            subject='rates.subject',
            window_grain="'day'",
            window_start='rates.period_date',
            window_end=dbt.dateadd('day', 1, 'rates.period_date'),
            measure='rates.measure',
            unit="'share'",
            observed='rates.observed_share',
            threshold='rules.threshold',
            critical='rules.critical_threshold',
            volume='rates.volume',
            organization_id='rates.organization_id',
            provider='rates.provider',
            model='rates.model',
        ) }}

    from rates

    inner join rules
        on rates.alert_rule = rules.alert_rule

    where
        rates.observed_share > rules.threshold
        and rates.volume >= coalesce(rules.min_volume, 0)

)

select * from final
