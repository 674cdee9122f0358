-- The alert_thresholds seed has a row for every rule the alert models implement, and no other: a missing
-- row would silently switch a rule off, an unknown one would be a typo that configures nothing.

{%- set rules = [
    'budget_50', 'budget_80', 'budget_100', 'budget_projected_overrun',
    'cost_spike_model_day', 'cost_spike_model_hour', 'cost_spike_organization_day',
    'cost_spike_organization_hour', 'cost_spike_provider_day', 'cost_spike_provider_hour',
    'error_rate_model_day', 'error_rate_organization_day', 'failover_rate_provider_day',
    'pending_cost_age', 'pending_cost_share_organization_month', 'runaway_key_hour',
    'sla_latency_endpoint_day', 'sla_latency_model_day', 'sla_latency_workflow_day', 'stale_ingestion',
] %}

with

implemented_rules as (

    {% for rule in rules -%}
        select '{{ rule }}' as alert_rule
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

configured_rules as (

    select alert_rule from {{ ref('alert_thresholds') }}

),

missing as (

    select
        implemented_rules.alert_rule,
        'no row in alert_thresholds' as problem

    from implemented_rules

    where implemented_rules.alert_rule not in (select configured_rules.alert_rule from configured_rules)

),

unknown as (

    select
        configured_rules.alert_rule,
        'no alert model implements it' as problem

    from configured_rules

    where configured_rules.alert_rule not in (select implemented_rules.alert_rule from implemented_rules)

)

select * from missing

union all

select * from unknown
