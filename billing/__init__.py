"""Billing: what the billing marts say, delivered to people. No amount is computed here (dbt does that).

* ``statements``: each organization's monthly statement as CSV, HTML and PDF files, written once closed;
* ``exports``: one organization's rows of any mart as CSV, for finance or a customer asking for their data.

Dagster runs them (``orchestration.assets.statements``); so does the ``tokenbooks`` CLI.
"""
