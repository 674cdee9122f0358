"""The SQL checks compiled from the contract models give the same verdict as the models themselves, for the same
reasons."""

from __future__ import annotations

import copy
import json

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from ingestion.records import ENDPOINTS, MAX_INT, validate_record
from ingestion.validation import framed, raw_columns, reasons_sql, walk

VALID = {
    "logs": {
        "id": "req_8f3a",
        "organization_id": "org_acme",
        "api_key_id": "key_12",
        "timestamp": "2026-11-20T10:15:03.120Z",
        "method": "POST",
        "endpoint": "/api/v1/conversations/{conversation_id}/messages",
        "status_code": 502,
        "duration_ms": 1420,
        "conversation_id": "conv_77",
        "trace_id": "trc_91",
        "workflow": "support-answer",
        "customer_data": {"user_id": "u_5", "segment": "enterprise", "persona": "agent", "channel": "web"},
        "error": {"status": 502, "detail": "upstream timeout", "traceback": "Traceback ..."},
    },
    "traces": {
        "span_id": "spn_3",
        "trace_id": "trc_91",
        "parent_span_id": "spn_1",
        "organization_id": "org_acme",
        "conversation_id": "conv_77",
        "workflow": "support-answer",
        "kind": "llm",
        "name": "generate",
        "started_at": "2026-11-20T10:15:03.400+01:00",
        "duration_ms": 980,
        "status": "error",
        "llm": {
            "provider": "openai",
            "model": "gpt-4o-mini-2024-07-18",
            "attempt": 1,
            "service_tier": "default",
            "usage": {
                "input_tokens": 1830,
                "output_tokens": 10,
                "cache_read_input_tokens": 1024,
                "cache_creation_input_tokens": 100,
                "cache_creation_1h_input_tokens": 50,
                "reasoning_tokens": 4,
            },
            "provider_reported_cost_usd": None,
            "error_type": "timeout",
        },
        "attributes": {"region": "eu"},
        "payload": {"input": "hello", "output": None},
    },
    "feedback": {
        "id": "fb_4",
        "conversation_id": "conv_77",
        "trace_id": "trc_91",
        "organization_id": "org_acme",
        "reviewer": "user:u_5",
        "rating": 4,
        "comment": "good, a bit slow",
        "created_at": "2026-11-20T10:20:00Z",
    },
    "rate-limits": {
        "id": "rl_9",
        "organization_id": "org_acme",
        "api_key_id": "key_12",
        "occurred_at": "2026-11-20T10:15:03Z",
        "outcome": "blocked",
        "limit": 100,
        "window_seconds": 3600,
        "endpoint": "/api/v1/conversations/{conversation_id}/messages",
    },
    "keys": {
        "id": "key_12",
        "organization_id": "org_acme",
        "name": "prod backend",
        "prefix": "cmp_live_ab12",
        "created_at": "2026-01-02T09:00:00Z",
        "last_used_at": "2026-11-20T10:15:03Z",
        "revoked_at": None,
    },
    "organizations": {
        "id": "org_acme",
        "name": "Acme Corp",
        "plan": "growth",
        "segment": "mid-market",
        "monthly_budget_usd": 2500.0,
        "created_at": "2025-06-01T00:00:00Z",
        "updated_at": "2026-11-01T00:00:00Z",
    },
}

# Values a misbehaving platform could send in place of any field.
ODD_VALUES = [
    None,
    "",
    "x",
    "1420",
    "1420ms",
    "ok",
    "error",
    "llm",
    "blocked",
    0,
    1,
    7,
    -1,
    5000,
    MAX_INT,
    MAX_INT + 1,
    2**64 + 5,
    -(2**64 + 5),
    1.5,
    1.0,
    True,
    [],
    [1],
    {},
    {"provider": "openai"},
    "2026-11-20T10:15:03Z",
    "2026-11-20T10:15:03",
    "2026-11-20T10:15:03.123456+05:30",
    "2026-02-30T10:15:03Z",
    "2026-11-20T24:00:00Z",
    "2026-11-20T10:15:03+24:00",
    "0000-01-01T00:00:00Z",
    "2026-11-20",
]

NOT_AN_INSTANT = "created_at: expected an ISO 8601 timestamp with a UTC offset"

_con = duckdb.connect()


def sql_reason(endpoint: str, record: object) -> str | None:
    model = ENDPOINTS[endpoint].model
    query = f"select {reasons_sql(model)} from {framed(model, '(select cast(? as json) as j)')}"
    return _con.execute(query, [json.dumps(record)]).fetchone()[0]


def sql_reasons(endpoint: str, record: object) -> set[str]:
    reason = sql_reason(endpoint, record)
    return set(reason.split("; ")) if reason else set()


def python_valid(endpoint: str, record: object) -> bool:
    try:
        validate_record(endpoint, record)
    except ValueError:
        return False
    return True


def python_reasons(endpoint: str, record: object) -> set[str]:
    """The contract model's errors in the words of the SQL checks: pydantic's error on a field read through that
    field of the contract (a required field that is null is missing, as in SQL); the text of the model's own
    errors (a timestamp, a cross-field rule) as it is."""
    try:
        validate_record(endpoint, record)
    except ValidationError as error:
        leaves, nodes = walk(ENDPOINTS[endpoint].model)
        leaf_at = {leaf.path: leaf for leaf in leaves}
        required = {leaf.path for leaf in leaves if leaf.required} | {node.path for node in nodes if node.required}
        reasons = set()
        for found in error.errors():
            path = tuple(found["loc"])
            label = ".".join(str(key) for key in path)
            if found["type"] == "missing" or (found["input"] is None and path in required):
                reasons.add(f"{label}: missing")
            elif found["type"] == "value_error":
                reasons.add(f"{label}: {found['ctx']['error']}" if path else str(found["ctx"]["error"]))
            elif found["type"] in ("greater_than_equal", "less_than_equal"):
                reasons.add(leaf_at[path].bounds_reason)
            elif found["type"] == "string_too_short":
                reasons.add(leaf_at[path].length_reason)
            elif path in leaf_at:
                reasons.add(leaf_at[path].type_reason)
            else:  # a nested contract object
                reasons.add(f"{label}: expected an object")
        return reasons
    return set()


def _paths(obj: dict, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = []
    for key, value in obj.items():
        found.append((*prefix, key))
        if isinstance(value, dict) and key not in ("attributes", "payload"):
            found.extend(_paths(value, (*prefix, key)))
    return found


def _mutate(record: dict, path: tuple[str, ...], value: object, delete: bool) -> dict:
    mutated = copy.deepcopy(record)
    target = mutated
    for key in path[:-1]:
        target = target[key]
    if delete:
        target.pop(path[-1], None)
    else:
        target[path[-1]] = value
    return mutated


@pytest.mark.parametrize("endpoint", list(VALID))
def test_contract_examples_are_valid_in_python_and_sql(endpoint):
    assert python_valid(endpoint, VALID[endpoint])
    assert sql_reason(endpoint, VALID[endpoint]) is None


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_sql_checks_give_the_models_verdict_and_reasons(data):
    endpoint = data.draw(st.sampled_from(list(VALID)))
    record = VALID[endpoint]
    for _ in range(data.draw(st.integers(min_value=1, max_value=3))):
        path = data.draw(st.sampled_from([*_paths(record), ("unknown_extra",)]))
        record = _mutate(record, path, data.draw(st.sampled_from(ODD_VALUES)), data.draw(st.booleans()))
    assert python_reasons(endpoint, record) == sql_reasons(endpoint, record), record


@pytest.mark.parametrize(
    ("endpoint", "change", "reason"),
    [
        ("logs", {"duration_ms": "1420ms"}, "duration_ms: expected an integer"),
        ("logs", {"duration_ms": "1420"}, "duration_ms: expected an integer"),
        ("logs", {"id": ""}, "id: must not be empty"),
        ("logs", {"timestamp": "2026-11-20T10:15:03"}, "timestamp: expected an ISO 8601 timestamp with a UTC offset"),
        ("logs", {"organization_id": None}, "organization_id: missing"),
        ("feedback", {"rating": 7}, "rating: must be between 1 and 5"),
        ("rate-limits", {"outcome": "maybe"}, "outcome: expected one of allowed, blocked"),
        ("traces", {"kind": "agent"}, "kind: expected one of request, retrieval, llm, postprocess, tool"),
        ("traces", {"llm": None}, "llm is required when kind is 'llm'"),
        ("keys", {"last_used_at": "yesterday"}, "last_used_at: expected an ISO 8601 timestamp with a UTC offset"),
        ("keys", {"id": None}, "id: missing"),
        # an integer too large for 64 bits is out of bounds, not a float
        ("logs", {"duration_ms": 2**64 + 5}, "duration_ms: must be >= 0 and fit a signed 64-bit integer"),
        ("rate-limits", {"limit": -(2**64 + 5)}, "limit: must be >= 0 and fit a signed 64-bit integer"),
        # the shape of a timestamp, but no such instant in Python's datetime
        ("feedback", {"created_at": "2026-02-30T10:20:00Z"}, NOT_AN_INSTANT),
        ("feedback", {"created_at": "2026-11-20T24:00:00Z"}, NOT_AN_INSTANT),
        ("feedback", {"created_at": "2026-11-20T10:20:00+24:00"}, NOT_AN_INSTANT),
        ("feedback", {"created_at": "0000-11-20T10:20:00Z"}, NOT_AN_INSTANT),
    ],
)
def test_reasons_name_the_field_and_the_rule(endpoint, change, reason):
    assert sql_reason(endpoint, {**VALID[endpoint], **change}) == reason
    assert python_reasons(endpoint, {**VALID[endpoint], **change}) == {reason}


def test_a_never_used_key_is_a_valid_snapshot():
    # last_used_at null or absent: the key was never used, which is what a security review looks for
    never_used = {**VALID["keys"], "last_used_at": None}
    absent = {k: v for k, v in VALID["keys"].items() if k != "last_used_at"}
    for record in (never_used, absent):
        assert sql_reason("keys", record) is None
        assert python_valid("keys", record)


def test_usage_rules_name_the_nested_object():
    span = copy.deepcopy(VALID["traces"])
    span["llm"]["usage"].update(input_tokens=100, cache_read_input_tokens=90, cache_creation_input_tokens=20)
    span["llm"]["usage"].update(reasoning_tokens=11, cache_creation_1h_input_tokens=10)
    assert sql_reason("traces", span) == (
        "llm.usage: cache_read_input_tokens + cache_creation_input_tokens must not exceed input_tokens; "
        "llm.usage: reasoning_tokens must not exceed output_tokens"
    )
    assert python_reasons("traces", span) == sql_reasons("traces", span)  # every broken rule, not the first


def test_a_broken_rule_is_reported_beside_the_errors_of_other_fields():
    span = {**VALID["traces"], "span_id": None, "duration_ms": "980ms", "llm": None}
    expected = {"span_id: missing", "duration_ms: expected an integer", "llm is required when kind is 'llm'"}
    assert python_reasons("traces", span) == sql_reasons("traces", span) == expected


def test_a_rule_is_not_checked_on_an_invalid_field():
    # -1 input tokens is the error; that 1024 cached tokens exceed it says nothing more
    span = copy.deepcopy(VALID["traces"])
    span["llm"]["usage"]["input_tokens"] = -1
    expected = {"llm.usage.input_tokens: must be >= 0 and fit a signed 64-bit integer"}
    assert python_reasons("traces", span) == sql_reasons("traces", span) == expected


def test_several_violations_are_all_reported():
    assert sql_reason("feedback", {"organization_id": 5, "created_at": "yesterday", "rating": 0}) == (
        "id: missing; organization_id: expected a string; "
        "created_at: expected an ISO 8601 timestamp with a UTC offset; rating: must be between 1 and 5"
    )


def test_raw_columns_flatten_typed_values_with_defaults():
    span = copy.deepcopy(VALID["traces"])
    del span["llm"]["usage"]["reasoning_tokens"]
    model = ENDPOINTS["traces"].model
    columns = raw_columns(model)
    row = _con.execute(
        f"select {', '.join(c.expression for c in columns)} from {framed(model, '(select cast(? as json) as j)')}",
        [json.dumps(span)],
    ).fetchone()
    flat = dict(zip([c.name for c in columns], row, strict=True))
    assert str(flat["started_at"]) == "2026-11-20 09:15:03.400000"  # naive UTC
    assert flat["llm__usage__cache_read_input_tokens"] == 1024
    assert flat["llm__usage__reasoning_tokens"] == 0  # missing usage counts as 0
    assert flat["llm__provider_reported_cost_usd"] is None
    retrieval = {k: v for k, v in span.items() if k != "llm"} | {"kind": "retrieval"}
    row = _con.execute(
        f"select {', '.join(c.expression for c in columns)} from {framed(model, '(select cast(? as json) as j)')}",
        [json.dumps(retrieval)],
    ).fetchone()
    assert dict(zip([c.name for c in columns], row, strict=True))["llm__usage__input_tokens"] is None


def sql_reason_of_text(endpoint: str, text: str) -> str | None:
    model = ENDPOINTS[endpoint].model
    query = f"select {reasons_sql(model)} from {framed(model, '(select cast(? as json) as j)')}"
    return _con.execute(query, [text]).fetchone()[0]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        # parsers disagree on which value counts (DuckDB: the first; PostgreSQL's jsonb, Python: the last)
        ('"organization_id": "org_a", "organization_id": "org_b"', "duplicate key"),
        ('"extra": 1, "extra": 2', "duplicate key"),
        ('"extra": 1, "other": {"a": 1, "a": 2}', None),  # inside unknown or free-form objects: not checked
        ('"kind": "llm", "llm": {"provider": "openai", "provider": "x", "model": "m", "usage": {}}',
         "llm: duplicate key"),
        ('"kind": "llm", "llm": {"provider": "p", "model": "m", "usage": {"input_tokens": 1, "input_tokens": 1}}',
         "llm.usage: duplicate key"),
        ('"extra": 1', None),
    ],
)  # fmt: skip
def test_a_key_twice_in_a_contract_object_is_invalid(text, reason):
    record = '{"span_id": "s1", "started_at": "2026-11-20T10:15:03Z", ' + text + "}"
    if '"organization_id"' not in text:
        record = record.replace('"span_id": "s1"', '"span_id": "s1", "organization_id": "org_a"')
    assert sql_reason_of_text("traces", record) == reason


def test_counts_beyond_a_signed_64_bit_integer_say_so():
    assert sql_reason("logs", {**VALID["logs"], "duration_ms": MAX_INT + 1}) == (
        "duration_ms: must be >= 0 and fit a signed 64-bit integer"
    )
