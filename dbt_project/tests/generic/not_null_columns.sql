{% test not_null_columns(model, columns) %}
    {#- Every listed column is filled: one row per column holding NULLs, with how many. One test and one
        scan per model rather than one per column (dbt's fixed cost per test dominates small builds). -#}
    {{ columns_failing(model, columns, "{} is null") }}
{% endtest %}
