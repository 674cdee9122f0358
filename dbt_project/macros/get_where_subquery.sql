{% macro get_where_subquery(relation) -%}
    {#- Overrides dbt's: what a generic test reads. A model that names its event-time column (dbt config
        `event_time`) is tested on the rows of the run's event window only, so a one-day run tests one day
        of data rather than the whole history again; a run without a window (the first build, a full run)
        tests every row. A test's own `where` config still applies. -#}
    {%- set conditions = [] -%}
    {%- set where = config.get('where', '') -%}
    {%- if where -%}
        {%- do conditions.append('(' ~ where ~ ')') -%}
    {%- endif -%}
    {%- set event_time = _event_time_of(relation) -%}
    {%- if event_time and event_window() is not none -%}
        {%- do conditions.append(in_event_window(adapter.quote(event_time)) | trim) -%}
    {%- endif -%}
    {%- if conditions -%}
        {%- do return('(select * from ' ~ relation ~ ' where ' ~ conditions | join(' and ') ~ ') dbt_subquery') -%}
    {%- endif -%}
    {%- do return(relation) -%}
{%- endmacro %}


{% macro _event_time_of(relation) -%}
    {#- The `event_time` config of the model stored as `relation`, or none. -#}
    {%- if execute -%}
        {%- for node in graph.nodes.values() -%}
            {%- if node.resource_type == 'model' and node.alias == relation.identifier
                and node.schema == relation.schema -%}
                {%- do return(node.config.get('event_time')) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {%- do return(none) -%}
{%- endmacro %}
