{% macro generate_schema_name(custom_schema_name, node) -%}
    {#- Schemas are exactly the folder's +schema (staging, intermediate, marts, pricing), with no target
        prefix: BI tools, alerting and billing read `marts.*` by name on every warehouse. -#}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
