-- One row per trace, from its spans: whose it is (its first span), timing per span kind, and failed spans
-- other than LLM attempts. The LLM attempts and their cost come from the ledger, in fct_traces.

{%- set span_kinds = ['request', 'retrieval', 'llm', 'postprocess', 'tool'] %}
{#- the first span is the earliest; the span id breaks ties -#}
{%- set first_span_order = ['started_at', 'span_id'] %}
{%- set span_ended_at = dbt.dateadd('millisecond', 'coalesce(duration_ms, 0)', 'started_at') %}

-- Incremental (delete+insert on trace_id): a run summarizes again, from all of its spans, every trace that
-- runs into its event window: the traces fct_traces rebuilds (overlaps_event_window on the summary). As a
-- view, every run summarized every trace of the history.
{{ config(
    event_time='started_at',
    materialized='incremental',
    unique_key='trace_id',
) }}

with

{% if is_incremental() %}
    touched_traces as (

        -- a span in the window, or a stored trace that runs into it (one that spans the whole window
        -- without a span in it)
        select trace_id from {{ ref('stg_platform__spans') }}
        where trace_id is not null and {{ overlaps_event_window('started_at', span_ended_at) }}

        union

        select trace_id from {{ this }}
        where {{ overlaps_event_window('started_at', 'ended_at') }}

    ),
{% endif %}

-- Only the columns summarized: spans carry their payloads.
spans as (

    select
        trace_id,
        span_id,
        organization_id,
        conversation_id,
        workflow,
        kind,
        status,
        duration_ms,
        started_at,
        {{ span_ended_at }} as ended_at

    from {{ ref('stg_platform__spans') }}
    where trace_id is not null
    {% if is_incremental() %}
        and trace_id in (select touched_traces.trace_id from touched_traces)
    {% endif %}

),

span_totals as (

    select
        -- ids
        trace_id,
        {{ first_by('organization_id', first_span_order) }} as organization_id,
        {{ first_by('conversation_id', first_span_order) }} as conversation_id,

        -- trace
        {{ first_by('workflow', first_span_order) }} as workflow,

        -- durations
        -- dbt's cross-database datediff: one long line, and a float on some warehouses
        cast(
            {{ dbt.datediff('min(started_at)', 'max(ended_at)', 'millisecond') }} as bigint  -- noqa: LT05
        ) as duration_ms,
        {% for kind in span_kinds -%}
            cast(
                coalesce(sum(case when kind = '{{ kind }}' then duration_ms end), 0) as bigint
            ) as {{ kind }}_duration_ms,
        {% endfor %}
        -- counts
        count(*) as spans,
        count(case when kind <> 'llm' and status = 'error' then 1 end) as failed_other_spans,

        -- timestamps
        min(started_at) as started_at,
        max(ended_at) as ended_at

    from spans

    group by trace_id

)

select * from span_totals
