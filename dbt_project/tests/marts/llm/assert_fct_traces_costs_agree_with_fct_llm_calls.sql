-- fct_traces never disagrees with the ledger: each trace's cost, wasted cost and pending calls are what
-- fct_llm_calls says its calls cost, also after a price correction re-priced calls outside the run's
-- window.

with

traces as (

    select * from {{ ref('fct_traces') }}

),

ledger_totals as (

    {{ trace_llm_totals(ref('fct_llm_calls')) }}

)

select
    traces.trace_id,
    traces.cost_usd,
    ledger_totals.cost_usd as ledger_cost_usd,
    traces.wasted_cost_usd,
    ledger_totals.wasted_cost_usd as ledger_wasted_cost_usd,
    traces.pending_calls,
    ledger_totals.pending_calls as ledger_pending_calls

from traces

inner join ledger_totals
    on traces.trace_id = ledger_totals.trace_id

where
    traces.cost_usd <> ledger_totals.cost_usd
    or traces.wasted_cost_usd <> ledger_totals.wasted_cost_usd
    or traces.pending_calls <> ledger_totals.pending_calls
