{% test non_negative(model, column_name) %}
    {#- Counts, durations and money are never below zero. -#}
    select {{ column_name }}
    from {{ model }}
    where {{ column_name }} < 0
{% endtest %}
