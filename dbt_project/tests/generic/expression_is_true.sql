{% test expression_is_true(model, expression) %}
    {#- Every row satisfies `expression` (a NULL result counts as a failure). -#}
    select *
    from {{ model }}
    where not coalesce({{ expression }}, false)
{% endtest %}
