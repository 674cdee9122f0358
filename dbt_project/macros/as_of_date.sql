{#- "Last 30 days" is relative to a reference date, never the wall clock, so a rebuild of the same data gives
    the same marts. The var `as_of_date` (YYYY-MM-DD) fixes it; unset, it is the latest day in the data. -#}

{% macro as_of_date(latest_event_date) -%}
    {#- The reference date: the var as a date literal, else `latest_event_date` (an expression over the
        model's own events, e.g. max(request_date)). -#}
    {%- set configured = var('as_of_date', none) -%}
    {%- if configured is none or configured == '' -%}
        {{ latest_event_date }}
    {%- else -%}
        {#- fromisoformat rejects anything but a day, so the literal below is always a clean date -#}
        {%- set day = modules.datetime.date.fromisoformat(configured | string) -%}
        cast('{{ day.isoformat() }}' as date)
    {%- endif -%}
{%- endmacro %}


{% macro in_trailing_days(day_column, as_of, days=30) -%}
    {#- A predicate: `day_column` (a date) is one of the `days` days ending on `as_of`, both included. -#}
    ({{ day_column }} > cast({{ dbt.dateadd('day', -days, as_of) }} as date) and {{ day_column }} <= {{ as_of }})
{%- endmacro %}
