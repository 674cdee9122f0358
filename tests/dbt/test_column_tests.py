"""The per-model column tests (not_null_columns, non_negative_columns): each failing column named, with its count."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow


def test_failing_columns_are_named_with_their_row_counts(new_workspace):
    workspace = new_workspace()
    workspace.write_seed(
        "sla_targets",
        [
            {"sla_scope": "llm_call", "p95_latency_ms": "50000"},
            {"sla_scope": "", "p95_latency_ms": "-5"},  # no scope, and a negative target
            {"sla_scope": "workflow", "p95_latency_ms": "-1"},
        ],
    )
    workspace.dbt("seed", "--select", "sla_targets")
    result = workspace.invoke("test", "--select", "sla_targets", "--store-failures")
    tests = {r.node.test_metadata.name: r for r in result.result if getattr(r.node, "test_metadata", None)}
    assert {
        name: (str(r.status), r.failures)
        for name, r in tests.items()
        if name in ("not_null_columns", "non_negative_columns")
    } == {
        "not_null_columns": ("fail", 1),
        "non_negative_columns": ("fail", 1),
    }
    stored = {
        name: workspace.query(f"select column_name, failing_rows from {tests[name].node.relation_name}")
        for name in ("not_null_columns", "non_negative_columns")
    }
    assert stored == {
        "not_null_columns": [{"column_name": "sla_scope", "failing_rows": 1}],
        "non_negative_columns": [{"column_name": "p95_latency_ms", "failing_rows": 2}],
    }


def test_unique_and_not_null_names_each_failing_check_with_its_count(new_workspace):
    workspace = new_workspace()
    workspace.write_seed(
        "alert_thresholds",
        [
            {"alert_rule": "budget_50", "threshold": "0.5", "severity": "info"},
            {"alert_rule": "budget_50", "threshold": "0.6", "severity": ""},  # the key twice, no severity
            {"alert_rule": "budget_80", "threshold": "0.8", "severity": ""},  # no severity
            {"alert_rule": "", "threshold": "", "severity": "warning"},  # no key, no threshold
            {"alert_rule": "budget_90", "threshold": "0.9", "severity": "critical"},
        ],
    )
    workspace.dbt("seed", "--select", "alert_thresholds")
    result = workspace.invoke("test", "--select", "alert_thresholds", "--store-failures")
    tests = {r.node.test_metadata.name: r for r in result.result if getattr(r.node, "test_metadata", None)}
    test = tests["unique_and_not_null"]
    assert (str(test.status), test.failures) == ("fail", 4)
    rows = workspace.query(f"select failing_check, failing_count from {test.node.relation_name} order by 1")
    assert rows == [
        {"failing_check": "alert_rule is null", "failing_count": 1},
        {"failing_check": "key (alert_rule) shared by several rows", "failing_count": 1},
        {"failing_check": "severity is null", "failing_count": 2},
        {"failing_check": "threshold is null", "failing_count": 1},
    ]
