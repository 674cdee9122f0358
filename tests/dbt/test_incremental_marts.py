"""Incremental marts: a windowed run rebuilds its window only, and a price added later prices pending calls.

The module builds the tiny landing data in full, then loads late corrections for both days
(tests/fixtures/tiny_landing/late_corrections) and runs dbt for the second day only.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import duckdb
import pytest

pytestmark = pytest.mark.slow

DAY_2_WINDOW = (datetime(2026, 11, 21, tzinfo=UTC), datetime(2026, 11, 22, tzinfo=UTC))
DAY_3_WINDOW = (datetime(2026, 11, 22, tzinfo=UTC), datetime(2026, 11, 23, tzinfo=UTC))
FINE_TUNE = "ft:gpt-4o-mini-2024-07-18:acme:support:a1b2c3"
FINE_TUNE_PRICE_ID = f"override:openai:{FINE_TUNE}:default:0:2026-11-01"
# Day 1 rows of every mart, as predicates on each mart's own day column.
DAY_1 = {
    "fct_llm_calls": "call_date = date '2026-11-20'",
    "fct_traces": "trace_date = date '2026-11-20'",
    "fct_requests": "request_date = date '2026-11-20'",
    "agg_org_daily": "activity_date = date '2026-11-20'",
}


@pytest.fixture(scope="module")
def corrected_day_2(new_workspace, tiny_landing):
    """Full build, then corrections for both days loaded and a run for day 2 only."""
    workspace = new_workspace()
    workspace.load(tiny_landing)
    workspace.dbt("build")
    day_1_before = workspace.marts_snapshot(where=DAY_1)
    corrections = {r.endpoint: r.corrections for r in workspace.load(tiny_landing / "late_corrections")}
    assert corrections == {"logs": 2, "traces": 2, "feedback": 0, "rate-limits": 0, "keys": 0, "organizations": 0}
    workspace.dbt("build", window=DAY_2_WINDOW)
    return workspace, day_1_before


def value(workspace, sql: str):
    (row,) = workspace.query(sql)
    (result,) = row.values()
    return result


def test_a_windowed_run_leaves_other_days_untouched(corrected_day_2):
    workspace, day_1_before = corrected_day_2
    assert workspace.marts_snapshot(where=DAY_1) == day_1_before
    # the day 1 corrections wait for a run of day 1 (req_a1 took 1100 ms, spn_a1_llm output 500 tokens)
    assert value(workspace, "select duration_ms from marts.fct_requests where request_id = 'req_a1'") == 1000
    assert value(workspace, "select output_tokens from marts.fct_llm_calls where span_id = 'spn_a1_llm'") == 400


def test_a_windowed_run_applies_corrections_inside_its_window(corrected_day_2):
    workspace, _ = corrected_day_2
    assert value(workspace, "select duration_ms from marts.fct_requests where request_id = 'req_a5'") == 900
    call = workspace.query(
        "select cost_usd, reported_minus_computed_cost_usd from marts.fct_llm_calls where span_id = 'spn_g2_llm'"
    )
    # computed 0.00048 at the peak rate (tests/fixtures/tiny_landing/README.md)
    assert call == [{"cost_usd": Decimal("0.000444"), "reported_minus_computed_cost_usd": Decimal("-0.000036")}]
    assert value(workspace, "select cost_usd from marts.fct_traces where trace_id = 'trc_g2'") == Decimal("0.000444")
    # the corrected span is summarized again with the rest of its trace: 100 ms in, 1150 ms long
    durations = workspace.query(
        "select duration_ms, request_duration_ms, llm_duration_ms, tool_duration_ms from marts.fct_traces "
        "where trace_id = 'trc_g2'"
    )
    assert durations == [
        {"duration_ms": 1250, "request_duration_ms": 1200, "llm_duration_ms": 1150, "tool_duration_ms": 40}
    ]
    globex_day_2 = workspace.query(
        "select cost_usd from marts.agg_org_daily "
        "where organization_id = 'org_globex' and activity_date = date '2026-11-21'"
    )
    assert globex_day_2 == [{"cost_usd": Decimal("0.016444")}]  # 0.000444 + 0.016
    acme_day_2_p50 = workspace.query(
        "select request_latency_p50_ms from marts.agg_org_daily "
        "where organization_id = 'org_acme' and activity_date = date '2026-11-21'"
    )
    assert acme_day_2_p50 == [{"request_latency_p50_ms": Decimal("452.5")}]  # between 5 and 900 ms


def test_a_new_price_prices_pending_calls_on_the_next_normal_run(corrected_day_2):
    workspace, _ = corrected_day_2
    workspace.add_price(
        price_id=FINE_TUNE_PRICE_ID,
        provider="openai",
        model=FINE_TUNE,
        service_tier="default",
        input_tokens_above="0",
        valid_from="2026-11-01",
        input_usd_per_mtok="0.3",
        output_usd_per_mtok="1.2",
        source="override",
        source_key="test",
        note="test: the customer's fine-tune at its negotiated rate",
    )
    # the next daily run covers day 3, yet the day 2 call that was pending gets its price
    workspace.dbt("build", window=DAY_3_WINDOW)

    call = workspace.query(
        "select cost_status, price_id, input_cost_usd, output_cost_usd, cost_usd "
        "from marts.fct_llm_calls where span_id = 'spn_a5_llm'"
    )
    assert call == [
        {
            "cost_status": "priced",
            "price_id": FINE_TUNE_PRICE_ID,
            "input_cost_usd": Decimal("0.00015"),  # 500 x 0.3 / 1e6
            "output_cost_usd": Decimal("0.00012"),  # 100 x 1.2 / 1e6
            "cost_usd": Decimal("0.00027"),
        }
    ]
    trace = workspace.query("select pending_calls, cost_usd from marts.fct_traces where trace_id = 'trc_a5'")
    assert trace == [{"pending_calls": 0, "cost_usd": Decimal("0.00027")}]
    acme_day_2 = workspace.query(
        "select pending_calls, cost_usd from marts.agg_org_daily "
        "where organization_id = 'org_acme' and activity_date = date '2026-11-21'"
    )
    assert acme_day_2 == [{"pending_calls": 0, "cost_usd": Decimal("0.00027")}]
    assert value(workspace, "select count(*) from marts.fct_llm_calls where cost_status = 'pending'") == 0


def test_a_windowed_run_tests_the_rows_of_its_window_only(new_workspace, tiny_landing):
    """Generic tests read a model with `event_time` through the run's window: a day-2 run does not see a
    broken day-1 row, a run without a window does (it is found, not ignored)."""
    workspace = new_workspace()
    workspace.load(tiny_landing)
    workspace.dbt("build")
    con = duckdb.connect(str(workspace.warehouse))
    con.execute("update marts.fct_llm_calls set input_tokens = -1 where call_date = date '2026-11-20'")
    con.close()
    workspace.dbt("test", "--select", "fct_llm_calls", window=DAY_2_WINDOW)
    result = workspace.invoke("test", "--select", "fct_llm_calls")
    failed = {r.node.name for r in result.result if str(r.status) == "fail"}
    # a negative input count: below zero, and the token buckets no longer add up
    assert sorted(name.split("_fct_llm_calls")[0] for name in failed) == ["expression_is_true", "non_negative_columns"]


def write_spans(folder, spans: list[dict]):
    traces = folder / "traces"
    traces.mkdir(parents=True)
    (traces / "spans.jsonl").write_text("".join(json.dumps(span) + "\n" for span in spans), encoding="utf-8")
    return folder


def test_a_trace_running_into_the_window_is_summarized_again_from_its_corrected_spans(new_workspace, tmp_path):
    """A trace that starts on day 1 and runs into day 2 is rebuilt by a day-2 run (it overlaps the window),
    from spans corrected since, although none of them starts in the window."""
    root = {
        "span_id": "spn_night_root", "trace_id": "trc_night", "parent_span_id": None, "organization_id": "org_acme",
        "conversation_id": "conv_night", "workflow": "batch-report", "kind": "request", "name": "report",
        "started_at": "2026-11-20T23:00:00.000Z", "duration_ms": 7_200_000, "status": "ok",
    }  # fmt: skip
    retrieval = root | {
        "span_id": "spn_night_ret", "parent_span_id": "spn_night_root", "kind": "retrieval", "name": "search",
        "started_at": "2026-11-20T23:00:01.000Z", "duration_ms": 1_000,
    }  # fmt: skip
    workspace = new_workspace()
    workspace.load(write_spans(tmp_path / "first", [root, retrieval]))
    workspace.dbt("build", "--select", "+fct_traces", "--indirect-selection", "cautious")
    # delivered later: the retrieval took 2 s and failed
    workspace.load(write_spans(tmp_path / "late", [retrieval | {"duration_ms": 2_000, "status": "error"}]))
    workspace.dbt("build", "--select", "+fct_traces", "--indirect-selection", "cautious", window=DAY_2_WINDOW)

    trace = workspace.query(
        "select duration_ms, retrieval_duration_ms, status from marts.fct_traces where trace_id = 'trc_night'"
    )
    assert trace == [{"duration_ms": 7_200_000, "retrieval_duration_ms": 2_000, "status": "error"}]
