-- One row per trace: its spans summarized (int_traces_summarized) with its LLM attempts and their cost
-- as the ledger, fct_llm_calls, records them. Incremental: a run rebuilds every trace whose spans run into
-- its event window (from all of that trace's spans, so a trace crossing the window edge stays whole) and
-- every trace whose cost, wasted cost or pending calls no longer agree with fct_llm_calls (a call priced
-- late or re-priced by a price correction, whatever its day).

{{ config(
    event_time='started_at',
    materialized='incremental',
    unique_key='trace_id',
) }}

with

traces as (

    select * from {{ ref('int_traces_summarized') }}

),

touched_traces as (

    -- A trace whose spans run into the window (so one with a span in it: rebuilt from all of its spans)
    select trace_id from traces
    where {{ overlaps_event_window('started_at', 'ended_at') }}

    {% if is_incremental() %}
        union

        -- fct_llm_calls is built first in the same run: the ledger as it stands now (read here on its own,
        -- so that only the sums compared are computed for every trace)
        select stored_traces.trace_id from {{ this }} as stored_traces
        inner join ({{ trace_llm_totals(ref('fct_llm_calls')) }}) as ledger_totals
            on stored_traces.trace_id = ledger_totals.trace_id
        where
            stored_traces.cost_usd <> ledger_totals.cost_usd
            or stored_traces.wasted_cost_usd <> ledger_totals.wasted_cost_usd
            or stored_traces.pending_calls <> ledger_totals.pending_calls
    {% endif %}

),

touched_calls as (

    select * from {{ ref('fct_llm_calls') }}
    where trace_id in (select touched_traces.trace_id from touched_traces)

),

llm_totals as (

    {{ trace_llm_totals('touched_calls') }}

),

final as (

    select
        -- ids
        traces.trace_id,
        traces.organization_id,
        traces.conversation_id,

        -- trace
        traces.workflow,
        case
            when llm_totals.final_attempt_status = 'error' or traces.failed_other_spans > 0 then 'error'
            else 'ok'
        end as status,
        llm_totals.final_provider,
        llm_totals.final_model,

        -- durations
        traces.duration_ms,
        traces.request_duration_ms,
        traces.retrieval_duration_ms,
        traces.llm_duration_ms,
        traces.postprocess_duration_ms,
        traces.tool_duration_ms,

        -- counts
        traces.spans,
        coalesce(llm_totals.llm_attempts, 0) as llm_attempts,
        coalesce(llm_totals.failovers, 0) as failovers,
        coalesce(llm_totals.failed_llm_attempts, 0) as failed_llm_attempts,
        coalesce(llm_totals.pending_calls, 0) as pending_calls,

        -- money: priced and provider-reported calls only; pending_calls says what is missing
        {{ money('coalesce(llm_totals.cost_usd, 0)') }} as cost_usd,
        {{ money('coalesce(llm_totals.wasted_cost_usd, 0)') }} as wasted_cost_usd,

        -- timestamps
        traces.started_at,
        traces.ended_at,
        cast(traces.started_at as date) as trace_date

    from traces

    left join llm_totals
        on traces.trace_id = llm_totals.trace_id

    where traces.trace_id in (select touched_traces.trace_id from touched_traces)

)

select * from final
