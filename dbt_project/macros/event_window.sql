{% macro event_window() -%}
    {#- The window window_start/window_end (_window_bound) as naive UTC timestamp literals
        ({'start': .., 'end': ..}), or none when both are absent (the whole history). The window is half-open:
        [start, end). -#}
    {%- set start = _utc_datetime(_window_bound('window_start')) -%}
    {%- set end = _utc_datetime(_window_bound('window_end')) -%}
    {%- if start is none and end is none -%}
        {{ return(none) }}
    {%- elif start is none or end is none -%}
        {{ exceptions.raise_compiler_error('Give both window_start and window_end, or neither.') }}
    {%- elif start >= end -%}
        {{ exceptions.raise_compiler_error('window_start must be before window_end.') }}
    {%- endif -%}
    {{ return({'start': _timestamp_literal(start), 'end': _timestamp_literal(end)}) }}
{%- endmacro %}


{% macro _window_bound(name) -%}
    {#- The var `name` when given (dbt --vars, unit tests), else, while dbt executes, the environment variable
        TOKENBOOKS_DBT_<NAME> (set by the Dagster dbt asset). Read at execution time only: dbt re-parses the
        whole project whenever --vars change, which a window that moves with every run would make it do. -#}
    {%- set value = var(name, none) -%}
    {%- if (value is none or value == '') and execute -%}
        {%- set value = env_var('TOKENBOOKS_DBT_' ~ (name | upper), '') -%}
    {%- endif -%}
    {{ return(value) }}
{%- endmacro %}


{% macro _utc_datetime(value) -%}
    {#- An ISO 8601 text (or, since --vars is YAML, an already parsed date/datetime) as a naive UTC
        datetime; a value without an offset is taken as UTC. -#}
    {%- if value is none or value == '' -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set parsed = modules.datetime.datetime.fromisoformat(value | string) -%}
    {%- if parsed.tzinfo is not none -%}
        {%- set parsed = parsed.astimezone(modules.pytz.utc).replace(tzinfo=none) -%}
    {%- endif -%}
    {{ return(parsed) }}
{%- endmacro %}


{% macro _timestamp_literal(value) -%}
    {{ return("cast('" ~ value.strftime('%Y-%m-%d %H:%M:%S.%f') ~ "' as timestamp)") }}
{%- endmacro %}


{% macro in_event_window(column) -%}
    {#- A predicate: `column` lies in the run's event window (always true without a window). -#}
    {{- overlaps_event_window(column, column) -}}
{%- endmacro %}


{% macro overlaps_event_window(start_column, end_column) -%}
    {#- A predicate: the closed interval [start_column, end_column] meets the run's event window (always
        true without a window). Holds for anything with an event inside the window, and for an interval
        that spans the whole window without one. -#}
    {%- set window = event_window() -%}
    {%- if window is none -%}
        true
    {%- else -%}
        ({{ end_column }} >= {{ window.start }} and {{ start_column }} < {{ window.end }})
    {%- endif -%}
{%- endmacro %}
