{% macro trace_llm_totals(llm_calls) -%}
    {#- Per trace, what the ledger `llm_calls` (a relation of priced calls: fct_llm_calls) says of its LLM
        attempts: how many, failovers and failures, the final attempt, and what they cost (the cost of
        record, the part spent on failed attempts, the calls still pending). fct_traces takes these from
        here, so it always agrees with fct_llm_calls; a data test holds it to that. -#}
    {#- the final attempt is the last one started; the attempt number (none before 1), then the span id,
        break ties -#}
    {%- set final_attempt_order = ['started_at', 'coalesce(attempt, 0)', 'span_id'] -%}
    select
        trace_id,
        {{ last_by('provider', final_attempt_order) }} as final_provider,
        {{ last_by('model', final_attempt_order) }} as final_model,
        {{ last_by('status', final_attempt_order) }} as final_attempt_status,
        count(*) as llm_attempts,
        count(case when attempt > 1 then 1 end) as failovers,
        count(case when status = 'error' then 1 end) as failed_llm_attempts,
        count(case when cost_status = 'pending' then 1 end) as pending_calls,
        {{ money('coalesce(sum(cost_usd), 0)') }} as cost_usd,
        {{ money("coalesce(sum(case when status = 'error' then cost_usd end), 0)") }} as wasted_cost_usd

    from {{ llm_calls }}

    where trace_id is not null

    group by trace_id
{%- endmacro %}
