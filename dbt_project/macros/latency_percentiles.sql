{% macro latency_percentiles(duration_ms, prefix='latency') -%}
    {#- The columns <prefix>_p50_ms, <prefix>_p95_ms and <prefix>_p99_ms of an aggregate: interpolated
        percentiles of `duration_ms` through the dispatched `percentile` macro, to the microsecond
        (NUMERIC(18,3), the same value on every warehouse). NULL values are left out; a group with none
        gives NULL. -#}
    {%- for name, fraction in [('p50', 0.5), ('p95', 0.95), ('p99', 0.99)] %}
        cast({{ percentile(duration_ms, fraction) }} as numeric(18, 3)) as {{ prefix }}_{{ name }}_ms
        {%- if not loop.last %},{% endif %}
    {%- endfor %}
{%- endmacro %}
