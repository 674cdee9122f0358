{#- Building blocks of the alert rules (models/intermediate/alerts/). Every rule model ends with `alert_row`, so
    the `alerts` mart unions rows of one shape; shares use `ratio` and ages `alert_elapsed`, so DuckDB and
    PostgreSQL store the same values. -#}

{% macro alert_row(
    alert_type, alert_rule, subject_type, subject, window_grain, window_start, window_end,
    measure, unit, observed, threshold, critical=none, baseline=none, volume=none,
    organization_id=none, provider=none, model=none, workflow=none, http_method=none, endpoint=none,
    api_key_id=none
) -%}
    {#- The select list of firing alert rules, every argument a SQL expression (quote literals:
        alert_type="'budget'"). `alert_rule` names a row of the alert_thresholds seed; `observed`,
        `threshold`, `critical` and `baseline` are in `unit`, and `threshold` is the value `observed` went
        over. Subject columns left out are NULL. -#}
    cast({{ alert_type }} as varchar) as alert_type,
    cast({{ alert_rule }} as varchar) as alert_rule,
    cast({{ subject_type }} as varchar) as subject_type,
    cast({{ subject }} as varchar) as subject,
    {%- for name, value in [
        ('organization_id', organization_id), ('provider', provider), ('model', model),
        ('workflow', workflow), ('http_method', http_method), ('endpoint', endpoint),
        ('api_key_id', api_key_id)
    ] %}
    cast({{ value if value is not none else 'null' }} as varchar) as {{ name }},
    {%- endfor %}
    cast({{ window_grain }} as varchar) as window_grain,
    cast({{ window_start }} as timestamp) as window_start,
    cast({{ window_end }} as timestamp) as window_end,
    cast({{ measure }} as varchar) as measure,
    cast({{ unit }} as varchar) as unit,
    cast({{ observed }} as numeric(38, 9)) as observed_value,
    cast({{ threshold }} as numeric(38, 9)) as threshold_value,
    cast({{ critical if critical is not none else 'null' }} as numeric(38, 9)) as critical_value,
    cast({{ baseline if baseline is not none else 'null' }} as numeric(38, 9)) as baseline_value,
    cast({{ volume if volume is not none else 'null' }} as bigint) as volume
{%- endmacro %}


{% macro alert_elapsed(start_at, end_at, per='hour') -%}
    {#- Hours (or days, per='day') from start_at to end_at, to 1e-6, counted in whole milliseconds (the
        data's precision). -#}
    {%- set milliseconds = {'hour': '3600000', 'day': '86400000'}[per] -%}
    {{ ratio('cast(' ~ dbt.datediff(start_at, end_at, 'millisecond') ~ ' as bigint)', milliseconds) }}
{%- endmacro %}


{% macro alert_evaluation_time_var() -%}
    {#- The evaluation time the run asks for, as a timestamp literal: the var alerts_as_of, else the end of
        the run's event window (window_end, set by the orchestrator); none when neither is set. -#}
    {%- set configured = var('alerts_as_of', none) -%}
    {%- if configured is not none and configured != '' -%}
        {{ return(_timestamp_literal(_utc_datetime(configured))) }}
    {%- endif -%}
    {%- set window = event_window() -%}
    {{ return(window.end if window is not none else none) }}
{%- endmacro %}


{% macro alert_value_text(value, unit) -%}
    {#- A value as an operator reads it: $ to 4 decimals, ms and counts whole, shares in %, hours to 0.1. -#}
    case {{ unit }}
        when 'usd' then '$' || cast(cast({{ value }} as numeric(38, 4)) as varchar)
        when 'ms' then cast(cast({{ value }} as numeric(38, 0)) as varchar) || ' ms'
        when 'share' then cast(cast({{ value }} * 100 as numeric(38, 1)) as varchar) || '%'
        when 'hours' then cast(cast({{ value }} as numeric(38, 1)) as varchar) || ' h'
        else cast(cast({{ value }} as numeric(38, 0)) as varchar)
    end
{%- endmacro %}


{% macro alert_window_text(window_grain, window_start) -%}
    {#- `on 2026-10-21`, `in the hour from 2026-10-21 07:00:00`, `in 2026-10`, `since 2026-10-01 11:32:00`. -#}
    case {{ window_grain }}
        when 'day' then 'on ' || cast(cast({{ window_start }} as date) as varchar)
        when 'hour' then 'in the hour from ' || cast({{ window_start }} as varchar)
        when 'month' then 'in ' || substring(cast(cast({{ window_start }} as date) as varchar), 1, 7)
        else 'since ' || cast({{ window_start }} as varchar)
    end
{%- endmacro %}
