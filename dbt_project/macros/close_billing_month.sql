{% macro close_billing_month(billing_month) %}
    {#- Close a billing month: copy every statement of the month, header and lines, as the billing marts
        hold them now, into the billing ledger (billing_closed_*), in one transaction. From then on the
        marts read that month back from the ledger, and any change to it becomes an adjustment on the next
        open month. Closing a closed month changes nothing. Rebuild the billing models afterwards
        (`dbt build --select tag:billing`) so the marts show the month as closed.

            dbt run-operation close_billing_month --args '{billing_month: 2026-10}' -#}
    {%- set month = _billing_month_from_text(billing_month) -%}
    {%- set month_literal = "cast('" ~ month.isoformat() ~ "' as date)" -%}
    {%- set closed_months = ref('billing_closed_months') -%}

    {%- set already_closed = run_query(
        'select count(*) from ' ~ closed_months ~ ' where billing_month = ' ~ month_literal
    ).columns[0].values()[0] -%}
    {%- if already_closed > 0 -%}
        {{ log('billing month ' ~ month.strftime('%Y-%m') ~ ' was already closed: nothing changed', info=True) }}
        {{ return(none) }}
    {%- endif -%}

    {%- set closed_at = modules.datetime.datetime.now(modules.pytz.utc).strftime('%Y-%m-%d %H:%M:%S.%f') -%}
    {%- for ledger, mart in [
        ('billing_closed_statement_lines', 'billing_statement_lines'),
        ('billing_closed_statements', 'billing_statements'),
    ] -%}
        {%- set columns = adapter.get_columns_in_relation(ref(ledger)) | map(attribute='name') | join(', ') -%}
        {%- do run_query(
            'insert into ' ~ ref(ledger) ~ ' (' ~ columns ~ ') select ' ~ columns ~ ' from ' ~ ref(mart)
            ~ ' where billing_month = ' ~ month_literal
        ) -%}
    {%- endfor -%}
    {%- do run_query(
        'insert into ' ~ closed_months ~ ' (billing_month, closed_at) values ('
        ~ month_literal ~ ", cast('" ~ closed_at ~ "' as timestamp))"
    ) -%}
    {%- do adapter.commit() -%}
    {{ log('billing month ' ~ month.strftime('%Y-%m') ~ ' closed', info=True) }}
{% endmacro %}


{% macro _billing_month_from_text(value) -%}
    {#- 2026-10 or 2026-10-01 as the date of the month's first day; anything else is an error. -#}
    {%- set text = value | string -%}
    {%- set parts = text.split('-') -%}
    {%- if parts | length not in (2, 3) or (parts | length == 3 and parts[2] != '01') -%}
        {{ exceptions.raise_compiler_error('billing_month: expected a month like 2026-10, got ' ~ text) }}
    {%- endif -%}
    {{ return(modules.datetime.date.fromisoformat(parts[0] ~ '-' ~ parts[1] ~ '-01')) }}
{%- endmacro %}
