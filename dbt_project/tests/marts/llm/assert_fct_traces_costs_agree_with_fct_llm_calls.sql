-- fct_traces never disagrees with the ledger: each trace's cost, wasted cost and pending calls are what
-- fct_llm_calls says its calls cost, also after a price correction re-priced calls outside the run's
-- window. The totals are recomputed here from fct_llm_calls, not with the macro that builds fct_traces
-- (trace_llm_totals), and compared over a full outer join: a trace with calls in the ledger but no row in
-- fct_traces fails, and a trace without calls must show none.

with

traces as (

    select
        trace_id,
        cost_usd,
        wasted_cost_usd,
        pending_calls

    from {{ ref('fct_traces') }}

),

ledger_totals as (

    select
        trace_id,
        -- the cost of record; NULL while pending, so left out of the sum
        coalesce(sum(cost_usd), 0) as cost_usd,
        coalesce(sum(case when status = 'error' then cost_usd end), 0) as wasted_cost_usd,
        count(case when cost_status = 'pending' then 1 end) as pending_calls

    from {{ ref('fct_llm_calls') }}

    where trace_id is not null

    group by trace_id

),

compared as (

    select
        coalesce(traces.trace_id, ledger_totals.trace_id) as trace_id,
        traces.trace_id is null as missing_from_fct_traces,
        traces.cost_usd,
        coalesce(ledger_totals.cost_usd, 0) as ledger_cost_usd,
        traces.wasted_cost_usd,
        coalesce(ledger_totals.wasted_cost_usd, 0) as ledger_wasted_cost_usd,
        traces.pending_calls,
        coalesce(ledger_totals.pending_calls, 0) as ledger_pending_calls

    from traces

    full outer join ledger_totals
        on traces.trace_id = ledger_totals.trace_id

)

select * from compared

where
    missing_from_fct_traces
    or cost_usd <> ledger_cost_usd
    or wasted_cost_usd <> ledger_wasted_cost_usd
    or pending_calls <> ledger_pending_calls
