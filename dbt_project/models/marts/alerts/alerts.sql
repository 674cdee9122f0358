-- One row per alert condition firing (mart contract `alerts`), from every alert rule, with a stable key for
-- de-duplication: the rule, the subject and the window's start (for an ongoing condition, when it began).
-- Rebuilt whole on every run from the marts, so a condition that no longer holds (late data, a price added,
-- a budget raised, a threshold changed) disappears, and the delivery sensor sends its resolution.

with

rule_alerts as (

    select * from {{ ref('int_alerts__cost_spikes') }}

    union all

    select * from {{ ref('int_alerts__sla_breaches') }}

    union all

    select * from {{ ref('int_alerts__error_rates') }}

    union all

    select * from {{ ref('int_alerts__budgets') }}

    union all

    select * from {{ ref('int_alerts__runaway_keys') }}

    union all

    select * from {{ ref('int_alerts__pending_costs') }}

    union all

    select * from {{ ref('int_alerts__stale_ingestion') }}

),

rules as (

    select * from {{ ref('alert_thresholds') }}

),

evaluation_time as (

    select * from {{ ref('int_alerts__evaluation_time') }}

),

final as (

    select
        -- ids
        rule_alerts.alert_rule || '|' || rule_alerts.subject
        || '|' || cast(rule_alerts.window_start as varchar) as alert_key,
        rule_alerts.alert_type,
        rule_alerts.alert_rule,
        case
            when rule_alerts.observed_value >= rule_alerts.critical_value then 'critical'
            else rules.severity
        end as severity,
        rule_alerts.subject_type || ' ' || rule_alerts.subject || ': ' || rule_alerts.measure || ' '
        || {{ alert_value_text('rule_alerts.observed_value', 'rule_alerts.unit') }} || ' (threshold '
        || {{ alert_value_text('rule_alerts.threshold_value', 'rule_alerts.unit') }} || ') '
        || {{ alert_window_text('rule_alerts.window_grain', 'rule_alerts.window_start') }} as message,

        -- subject
        rule_alerts.subject_type,
        rule_alerts.subject,
        rule_alerts.organization_id,
        rule_alerts.provider,
        rule_alerts.model,
        rule_alerts.workflow,
        rule_alerts.http_method,
        rule_alerts.endpoint,
        rule_alerts.api_key_id,

        -- window (UTC, half-open)
        rule_alerts.window_grain,
        rule_alerts.window_start,
        rule_alerts.window_end,

        -- measure
        rule_alerts.measure,
        rule_alerts.unit,
        rule_alerts.observed_value,
        rule_alerts.threshold_value,
        rule_alerts.critical_value,
        rule_alerts.baseline_value,
        rule_alerts.volume,

        -- timestamps
        evaluation_time.evaluated_at

    from rule_alerts

    inner join rules
        on rule_alerts.alert_rule = rules.alert_rule

    cross join evaluation_time

)

select * from final
