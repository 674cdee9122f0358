-- SLA breaches: the p95 latency of a UTC day above `threshold` x its target in the sla_targets seed, with at
-- least `min_volume` observations: a provider's model (every attempt, failed ones included, as the contract
-- counts latency), a workflow (whole trace) and a platform endpoint (request duration). Each subject takes
-- the target row naming the most of its columns (a model's row before its provider's, before the default).
-- Model and endpoint percentiles come from the BI marts, so an alert shows the number the dashboards show.

with

provider_model_days as (

    select * from {{ ref('agg_provider_model_daily') }}

),

endpoint_days as (

    select * from {{ ref('agg_endpoint_daily') }}

),

traces as (

    select * from {{ ref('fct_traces') }}

),

sla_targets as (

    select * from {{ ref('sla_targets') }}

),

rules as (

    select * from {{ ref('alert_thresholds') }}

),

latencies as (

    select
        'sla_latency_model_day' as alert_rule,
        'llm_call' as sla_scope,
        'model' as subject_type,
        provider || '/' || model as subject,
        provider,
        model,
        cast(null as varchar) as workflow,
        cast(null as varchar) as http_method,
        cast(null as varchar) as endpoint,
        call_date as period_date,
        calls as observations,
        latency_p95_ms as p95_latency_ms

    from provider_model_days

    union all

    select
        'sla_latency_workflow_day' as alert_rule,
        'workflow' as sla_scope,
        'workflow' as subject_type,
        workflow as subject,
        cast(null as varchar) as provider,
        cast(null as varchar) as model,
        workflow,
        cast(null as varchar) as http_method,
        cast(null as varchar) as endpoint,
        trace_date as period_date,
        count(*) as observations,
        cast({{ percentile('duration_ms', 0.95) }} as numeric(18, 3)) as p95_latency_ms

    from traces

    where workflow is not null and duration_ms is not null

    group by workflow, trace_date

    union all

    select
        'sla_latency_endpoint_day' as alert_rule,
        'endpoint' as sla_scope,
        'endpoint' as subject_type,
        method || ' ' || endpoint as subject,
        cast(null as varchar) as provider,
        cast(null as varchar) as model,
        cast(null as varchar) as workflow,
        method as http_method,
        endpoint,
        request_date as period_date,
        requests as observations,
        latency_p95_ms as p95_latency_ms

    from endpoint_days

    where method is not null and endpoint is not null

),

matched_targets as (

    select
        latencies.*,
        sla_targets.p95_latency_ms as target_ms,
        row_number() over (
            partition by latencies.alert_rule, latencies.subject, latencies.period_date
            order by
                -- the closest row: a model beats a provider, an endpoint beats a method
                case when sla_targets.model is null then 0 else 2 end
                + case when sla_targets.provider is null then 0 else 1 end
                + case when sla_targets.workflow is null then 0 else 1 end
                + case when sla_targets.endpoint is null then 0 else 2 end
                + case when sla_targets.http_method is null then 0 else 1 end desc
        ) as target_rank

    from latencies

    inner join sla_targets
        on
            latencies.sla_scope = sla_targets.sla_scope
            and (sla_targets.provider is null or latencies.provider = sla_targets.provider)
            and (sla_targets.model is null or latencies.model = sla_targets.model)
            and (sla_targets.workflow is null or latencies.workflow = sla_targets.workflow)
            and (sla_targets.http_method is null or latencies.http_method = sla_targets.http_method)
            and (sla_targets.endpoint is null or latencies.endpoint = sla_targets.endpoint)

),

judged as (

    select
        matched_targets.*,
        matched_targets.p95_latency_ms as observed_ms,
        rules.threshold * matched_targets.target_ms as threshold_ms,
        rules.critical_threshold * matched_targets.target_ms as critical_ms,
        rules.min_volume

    from matched_targets

    inner join rules
        on matched_targets.alert_rule = rules.alert_rule

    where matched_targets.target_rank = 1

),

final as (

    select
        {{ alert_row(
            alert_type="'sla_latency'",
            alert_rule='alert_rule',
            subject_type='subject_type',
            subject='subject',
            window_grain="'day'",
            window_start='period_date',
            window_end=dbt.dateadd('day', 1, 'period_date'),
            measure="'p95_latency_ms'",
            unit="'ms'",
            observed='observed_ms',
            threshold='threshold_ms',
            critical='critical_ms',
            baseline='target_ms',
            volume='observations',
            provider='provider',
            model='model',
            workflow='workflow',
            http_method='http_method',
            endpoint='endpoint',
        ) }}

    from judged

    where observed_ms > threshold_ms and observations >= coalesce(min_volume, 0)

)

select * from final
