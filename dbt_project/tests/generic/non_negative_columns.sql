{% test non_negative_columns(model, columns) %}
    {#- Counts, durations and money are never below zero: one row per listed column with negative values,
        with how many (one test and one scan per model, as not_null_columns). -#}
    {{ columns_failing(model, columns, "{} < 0") }}
{% endtest %}
