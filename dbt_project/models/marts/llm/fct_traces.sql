-- One row per trace. Incremental: a run rebuilds every trace with a span in its event window (from
-- all of that trace's spans, so a trace crossing the window edge stays whole) and every trace whose
-- cost, wasted cost or pending calls no longer agree with fct_llm_calls (a call priced late or re-priced
-- by a price correction, whatever its day).

-- depends_on: {{ ref('fct_llm_calls') }}

{{ config(
    event_time='started_at',
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='trace_id',
    on_schema_change='append_new_columns',
) }}

with

traces as (

    select * from {{ ref('int_traces_summarized') }}

),

spans as (

    select * from {{ ref('stg_platform__spans') }}

),

{% if is_incremental() %}
ledger_totals as (

    -- fct_llm_calls is built first in the same run: the ledger as it stands now
    {{ trace_cost_totals(ref('fct_llm_calls')) }}

),
{% endif %}

touched_traces as (

    select distinct trace_id from spans
    where {{ in_event_window('started_at') }}

    {% if is_incremental() %}
        union

        select stored_traces.trace_id from {{ this }} as stored_traces
        inner join ledger_totals
            on stored_traces.trace_id = ledger_totals.trace_id
        where
            stored_traces.cost_usd <> ledger_totals.cost_usd
            or stored_traces.wasted_cost_usd <> ledger_totals.wasted_cost_usd
            or stored_traces.pending_calls <> ledger_totals.pending_calls
    {% endif %}

),

final as (

    select
        -- ids
        trace_id,
        organization_id,
        conversation_id,

        -- trace
        workflow,
        status,
        final_provider,
        final_model,

        -- durations
        duration_ms,
        request_duration_ms,
        retrieval_duration_ms,
        llm_duration_ms,
        postprocess_duration_ms,
        tool_duration_ms,

        -- counts
        spans,
        llm_attempts,
        failovers,
        failed_llm_attempts,
        pending_calls,

        -- money
        cost_usd,
        wasted_cost_usd,

        -- timestamps
        started_at,
        ended_at,
        trace_date

    from traces

    where trace_id in (select touched_traces.trace_id from touched_traces)

)

select * from final
