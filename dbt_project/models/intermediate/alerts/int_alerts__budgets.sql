-- Budgets: an organization's cost in a month reaching 50, 80 and 100 % of its monthly_budget_usd (one alert
-- per level and month), and the month of the evaluation time projected past its budget at its current run
-- rate: month-to-date cost / days elapsed x days in the month, once `min_volume` days have elapsed.
-- Budgets are the organizations' latest snapshot (an org whose budget was raised may see an alert resolved).

with

org_days as (

    select * from {{ ref('agg_org_daily') }}

),

organizations as (

    select * from {{ ref('stg_platform__organizations') }}
    where monthly_budget_usd > 0

),

evaluation_time as (

    select * from {{ ref('int_alerts__evaluation_time') }}

),

rules as (

    select * from {{ ref('alert_thresholds') }}

),

org_months as (

    select
        org_days.organization_id,
        cast({{ dbt.date_trunc('month', 'org_days.activity_date') }} as date) as month_start,
        {{ money('sum(org_days.cost_usd)') }} as cost_usd,
        count(*) as active_days

    from org_days

    group by
        org_days.organization_id,
        cast({{ dbt.date_trunc('month', 'org_days.activity_date') }} as date)

),

budget_months as (

    select
        org_months.*,
        organizations.monthly_budget_usd,
        cast({{ dbt.dateadd('month', 1, 'org_months.month_start') }} as date) as month_end

    from org_months

    inner join organizations
        on org_months.organization_id = organizations.organization_id

),

current_month as (

    -- the month the evaluation time falls in (its last instant, so a run ending at midnight on the
    -- 1st closes the previous month), and how many days of it have elapsed
    select
        cast(
            {{ dbt.date_trunc('month', dbt.dateadd('millisecond', -1, 'evaluated_at')) }} as date
        ) as month_start,
        evaluated_at

    from evaluation_time

),

projections as (

    select
        budget_months.*,
        {{ alert_elapsed('budget_months.month_start', 'current_month.evaluated_at', per='day') }}
            as elapsed_days,
        -- dbt's cross-database datediff renders as one long line
        {{ dbt.datediff('budget_months.month_start', 'budget_months.month_end', 'day') }} as month_days  -- noqa: LT05

    from budget_months

    inner join current_month
        on budget_months.month_start = current_month.month_start

),

levels as (

    select
        rules.alert_rule,
        budget_months.organization_id,
        budget_months.month_start,
        budget_months.month_end,
        'month_to_date_cost_usd' as measure,
        budget_months.cost_usd as observed_usd,
        cast(rules.threshold * budget_months.monthly_budget_usd as numeric(38, 9)) as threshold_usd,
        cast(null as numeric(38, 9)) as critical_usd,
        budget_months.monthly_budget_usd,
        budget_months.active_days as volume

    from budget_months

    inner join rules
        on rules.alert_rule in ('budget_50', 'budget_80', 'budget_100')

    where budget_months.cost_usd >= rules.threshold * budget_months.monthly_budget_usd

),

overruns as (

    select
        rules.alert_rule,
        projections.organization_id,
        projections.month_start,
        projections.month_end,
        'projected_month_cost_usd' as measure,
        -- to the micro-dollar: a quotient reads the same on every warehouse at that scale
        cast(
            cast(projections.cost_usd * projections.month_days as numeric(38, 12)) / projections.elapsed_days
            as numeric(18, 6)
        ) as observed_usd,
        cast(rules.threshold * projections.monthly_budget_usd as numeric(38, 9)) as threshold_usd,
        cast(rules.critical_threshold * projections.monthly_budget_usd as numeric(38, 9)) as critical_usd,
        projections.monthly_budget_usd,
        projections.active_days as volume

    from projections

    inner join rules
        on rules.alert_rule = 'budget_projected_overrun'

    where projections.elapsed_days >= coalesce(rules.min_volume, 0) and projections.elapsed_days > 0

),

firing as (

    select * from levels

    union all

    select * from overruns
    where observed_usd > threshold_usd

),

final as (

    select
        {{ alert_row(
            alert_type="'budget'",
            alert_rule='alert_rule',
            subject_type="'organization'",
            subject='organization_id',
            window_grain="'month'",
            window_start='month_start',
            window_end='month_end',
            measure='measure',
            unit="'usd'",
            observed='observed_usd',
            threshold='threshold_usd',
            critical='critical_usd',
            baseline='monthly_budget_usd',
            volume='volume',
            organization_id='organization_id',
        ) }}

    from firing

)

select * from final
