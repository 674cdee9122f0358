"""Redaction of delivered text before it reaches the warehouse or a log.

Payloads (the messages sent to a model, retrieved snippets, post-processing diffs) can hold personal data
and credentials. They are redacted at ingestion, in the same vectorized SQL pass that validates records,
and truncated so one runaway payload cannot bloat the warehouse. A quarantined line is redacted whole with
the same patterns before it is stored, and so is the message of a database error (``safe_message``), which
can quote the data it failed on. The patterns are RE2-compatible so the Python ``redact`` (used by tests,
error messages and small tools) and the SQL ``redact_sql`` agree on ASCII text.
"""

from __future__ import annotations

import re

# Applied in order: secrets first (a token may contain an '@'), then e-mails, then phone numbers.
PATTERNS: tuple[tuple[str, str], ...] = (
    (
        "[redacted-secret]",
        r"(?i)\b(?:sk|pk|rk|ghp|gho|ghs|xox[abpr]|cmp_live|cmp_test|api[_-]?key)[-_][A-Za-z0-9_\-]{8,}"
        r"|\bAKIA[0-9A-Z]{16}\b|(?i:bearer)\s+[A-Za-z0-9._\-]{16,}|\b[A-Za-z0-9_\-]{40,}\b",
    ),
    ("[redacted-email]", r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}"),
    (
        "[redacted-phone]",
        r"(?:\+\d{1,3}[\s.\-]?)?(?:\(\d{2,4}\)[\s.\-]?|\d{2,4}[\s.\-])\d{3,4}[\s.\-]?\d{3,4}\b",
    ),
)

# Payloads longer than this (in characters, after redaction) are stored truncated.
MAX_PAYLOAD_CHARS = 16_384


def redact(text: str) -> str:
    for replacement, pattern in PATTERNS:
        text = re.sub(pattern, replacement, text)
    return text


# Where database errors start quoting the data or the statement (DuckDB's CSV and JSON errors, PostgreSQL's
# DETAIL and CONTEXT lines): a safe message stops there.
_ECHO = re.compile(r"\s*(?:Original Line:|Input:|LINE \d+:|DETAIL:|CONTEXT:|HINT:)")


def safe_message(error: BaseException) -> str:
    """An error's message without the data it quotes, redacted: fit for logs and the Dagster event log."""
    message = _ECHO.split(str(error), maxsplit=1)[0].strip()
    return redact(message) or type(error).__name__


def _sql_str(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def redact_sql(text_expr: str) -> str:
    """SQL applying every pattern to a VARCHAR expression."""
    for replacement, pattern in PATTERNS:
        text_expr = f"regexp_replace({text_expr}, {_sql_str(pattern)}, {_sql_str(replacement)}, 'g')"
    return text_expr


def payload_sql(json_expr: str) -> str:
    """SQL turning a JSON payload into its redacted, size-capped JSON form (NULL stays NULL)."""
    redacted = redact_sql(f"cast({json_expr} as varchar)")
    return (
        f"case when {json_expr} is null then null "
        f"when length({redacted}) > {MAX_PAYLOAD_CHARS} "
        f"then json_object('truncated', true, 'text', left({redacted}, {MAX_PAYLOAD_CHARS})) "
        f"else cast({redacted} as json) end"
    )
