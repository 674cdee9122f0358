{% macro trace_cost_totals(llm_calls) -%}
    {#- Per trace, what the ledger `llm_calls` (a relation of priced calls) says its LLM calls cost: the
        cost of record, the part of it spent on failed attempts, and the calls still pending. fct_traces
        must always agree with fct_llm_calls on these: it rebuilds a trace that does not (a call re-priced
        outside the run's window), and a data test holds it to that. -#}
    select
        trace_id,
        {{ money('coalesce(sum(cost_usd), 0)') }} as cost_usd,
        {{ money("coalesce(sum(case when status = 'error' then cost_usd end), 0)") }} as wasted_cost_usd,
        count(case when cost_status = 'pending' then 1 end) as pending_calls

    from {{ llm_calls }}

    where trace_id is not null

    group by trace_id
{%- endmacro %}
