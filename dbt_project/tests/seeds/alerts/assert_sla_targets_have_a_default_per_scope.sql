-- Every SLA scope has a default row (naming no subject), so every provider/model, workflow and endpoint
-- has a target and none escapes the SLA rules unnoticed.

with

scopes as (

    select 'llm_call' as sla_scope
    union all
    select 'workflow' as sla_scope
    union all
    select 'endpoint' as sla_scope

),

defaults as (

    select sla_scope from {{ ref('sla_targets') }}
    where
        provider is null and model is null and workflow is null and http_method is null
        and endpoint is null

)

select scopes.sla_scope

from scopes

where scopes.sla_scope not in (select defaults.sla_scope from defaults)
