-- Cost spikes: an organization's, a provider's or a model's cost in a UTC day (or hour) above `threshold`
-- x its baseline and above `min_amount_usd` (the threshold reported is the larger of the two; critical is
-- `critical_threshold` x the baseline, at least min_amount_usd x critical_threshold / threshold, so a
-- baseline of 0 does not make every spike critical). The baseline is the median cost of the same period (the
-- whole day, or the same hour) on the previous `baseline_days` days on which the platform had calls; a day
-- on which the subject had none counts as 0. A period is judged only once the data covers baseline_days
-- days before it.

{%- set subjects = {
    'organization': {'subject': 'organization_id', 'columns': ['organization_id']},
    'provider': {'subject': 'provider', 'columns': ['provider']},
    'model': {'subject': "provider || '/' || model", 'columns': ['provider', 'model']},
} %}

with

llm_calls as (

    select * from {{ ref('fct_llm_calls') }}

),

rules as (

    select * from {{ ref('alert_thresholds') }}

),

calendar as (

    select distinct call_date as calendar_date from llm_calls

),

history as (

    select min(call_date) as first_call_date from llm_calls

),

periods as (

    {% for subject_type, subject in subjects.items() -%}
        {%- for grain in ['day', 'hour'] %}
            select
                'cost_spike_{{ subject_type }}_{{ grain }}' as alert_rule,
                '{{ subject_type }}' as subject_type,
                {{ subject.subject }} as subject,
                {% for column in ['organization_id', 'provider', 'model'] -%}
                    {{ column if column in subject.columns else 'cast(null as varchar)' }} as {{ column }},
                {% endfor -%}
                '{{ grain }}' as window_grain,
                {{ dbt.date_trunc(grain, 'started_at') }} as period_start,
                {{ dbt.dateadd(grain, 1, dbt.date_trunc(grain, 'started_at')) }} as period_end,
                count(*) as calls,
                {{ money('coalesce(sum(cost_usd), 0)') }} as cost_usd

            from llm_calls

            group by {{ subject.columns | join(', ') }}, {{ dbt.date_trunc(grain, 'started_at') }}
            {% if not loop.last %}union all{% endif %}
        {%- endfor %}
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

candidates as (

    -- only a period above min_amount_usd can fire: its baseline is the only one worth computing
    select
        periods.*,
        cast(periods.period_start as date) as period_date,
        rules.threshold,
        rules.critical_threshold,
        coalesce(rules.min_amount_usd, 0) as min_amount_usd,
        rules.baseline_days

    from periods

    inner join rules
        on periods.alert_rule = rules.alert_rule

    cross join history

    where
        periods.cost_usd > coalesce(rules.min_amount_usd, 0)
        -- a full baseline: the data's first days have no history to spike against
        and cast(periods.period_start as date)
        >= {{ dbt.dateadd('day', 'rules.baseline_days', 'history.first_call_date') }}

),

baseline_periods as (

    -- the same time of day on each previous calendar day within baseline_days
    select
        candidates.alert_rule,
        candidates.subject,
        candidates.period_start,
        {{ dbt.dateadd(
            'day',
            '-' ~ dbt.datediff('calendar.calendar_date', 'candidates.period_date', 'day'),
            'candidates.period_start'
        ) }} as baseline_period_start

    from candidates

    inner join calendar
        on
            candidates.period_date > calendar.calendar_date
            and {{ dbt.dateadd('day', '-candidates.baseline_days', 'candidates.period_date') }}
            <= calendar.calendar_date

),

baselines as (

    select
        baseline_periods.alert_rule,
        baseline_periods.subject,
        baseline_periods.period_start,
        cast({{ percentile('coalesce(periods.cost_usd, 0)', 0.5) }} as numeric(38, 9)) as baseline_cost_usd

    from baseline_periods

    left join periods
        on
            baseline_periods.alert_rule = periods.alert_rule
            and baseline_periods.subject = periods.subject
            and baseline_periods.baseline_period_start = periods.period_start

    group by baseline_periods.alert_rule, baseline_periods.subject, baseline_periods.period_start

),

spikes as (

    select
        candidates.*,
        baselines.baseline_cost_usd,
        cast(
            greatest(candidates.threshold * baselines.baseline_cost_usd, candidates.min_amount_usd)
            as numeric(38, 9)
        ) as threshold_usd,
        cast(
            greatest(
                candidates.critical_threshold * baselines.baseline_cost_usd,
                candidates.min_amount_usd
                * {{ ratio('candidates.critical_threshold', 'candidates.threshold') }}
            ) as numeric(38, 9)
        ) as critical_usd

    from candidates

    inner join baselines
        on
            candidates.alert_rule = baselines.alert_rule
            and candidates.subject = baselines.subject
            and candidates.period_start = baselines.period_start

),

final as (

    select
        {{ alert_row(
            alert_type="'cost_spike'",
            alert_rule='alert_rule',
            subject_type='subject_type',
            subject='subject',
            window_grain='window_grain',
            window_start='period_start',
            window_end='period_end',
            measure="'cost_usd'",
            unit="'usd'",
            observed='cost_usd',
            threshold='threshold_usd',
            critical='critical_usd',
            baseline='baseline_cost_usd',
            volume='calls',
            organization_id='organization_id',
            provider='provider',
            model='model',
        ) }}

    from spikes

    where cost_usd > threshold_usd

)

select * from final
