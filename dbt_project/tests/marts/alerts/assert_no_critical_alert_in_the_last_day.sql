-- A warning, not an error: critical alerts whose window ended in the day before the evaluation time. In
-- Dagster this is a failed (WARN) check on marts/alerts while they fire; the rows say which.

{{ config(severity='warn') }}

select
    alert_key,
    message

from {{ ref('alerts') }}

where
    severity = 'critical'
    and window_end > {{ dbt.dateadd('day', -1, 'evaluated_at') }}
