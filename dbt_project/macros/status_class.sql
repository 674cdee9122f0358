{% macro status_class(status_code) -%}
    {#- '2xx', '4xx', ... for an HTTP status code (3 digits by contract); NULL when unknown. -#}
    case
        when {{ status_code }} between 100 and 599
            then substring(cast({{ status_code }} as varchar), 1, 1) || 'xx'
    end
{%- endmacro %}
