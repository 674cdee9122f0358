"""Billing statement files: read from the billing marts, rendered as CSV, HTML and PDF, written per month.

No amount is computed here: every number comes from ``marts.billing_statement_lines`` and
``marts.billing_statements`` (dbt); this package only formats and delivers them. The same marts give
byte-identical files (no timestamps, fixed ordering, reportlab's invariant mode), and each document prints
the statement's ``statement_hash``.
"""

from billing.statements.reading import Statement, StatementLine, read_statements
from billing.statements.writing import MonthWritten, statements_dir, write_month

__all__ = ["MonthWritten", "Statement", "StatementLine", "read_statements", "statements_dir", "write_month"]
