"""The BI marts on the tiny landing data plus its bi_additions, every number worked out by hand in
tests/fixtures/tiny_landing/README.md ("Marts for BI").

One warehouse is loaded and built once for the module; the tests read it, except the last one, which loads
the late corrections and runs dbt for day 2 only (fct_trace_steps is incremental).
"""

from __future__ import annotations

import csv
import io
from contextlib import closing
from datetime import UTC, date, datetime
from decimal import Decimal

import duckdb
import pytest

from billing.exports import export_to, exportable_marts

pytestmark = pytest.mark.slow

DAY_1, DAY_2 = date(2026, 11, 20), date(2026, 11, 21)
DAY_2_WINDOW = (datetime(2026, 11, 21, tzinfo=UTC), datetime(2026, 11, 22, tzinfo=UTC))
MESSAGES = "/api/v1/conversations/{conversation_id}/messages"
d = Decimal


@pytest.fixture(scope="module")
def warehouse(new_workspace, tiny_landing):
    workspace = new_workspace()
    workspace.load(tiny_landing)
    additions = {r.endpoint: (r.loaded, r.quarantined) for r in workspace.load(tiny_landing / "bi_additions")}
    assert additions == {
        "logs": (2, 0),
        "traces": (0, 0),
        "feedback": (2, 0),
        "rate-limits": (1, 0),
        "keys": (1, 0),
        "organizations": (0, 0),
    }
    workspace.dbt("build")
    return workspace


def rows(warehouse, mart: str, columns: list[str]) -> list[tuple]:
    """The mart's rows as tuples of ``columns``, in the order of all those columns."""
    selected = ", ".join(columns)
    return [tuple(row.values()) for row in warehouse.query(f"select {selected} from marts.{mart} order by all")]


def test_provider_model_daily(warehouse):
    columns = [
        "provider", "model", "call_date", "calls", "failed_calls", "failure_rate", "failover_calls",
        "pending_calls", "latency_p50_ms", "ok_latency_p50_ms", "input_tokens", "output_tokens", "cost_usd",
        "wasted_cost_usd",
    ]  # fmt: skip
    assert rows(warehouse, "agg_provider_model_daily", columns) == [
        ("anthropic", "claude-sonnet-4-5-20250929", DAY_1, 1, 0, d(0), 0, 0, d(700), d(700), 3000, 400,
         d("0.01455"), d(0)),
        # the failover took over from openai
        ("bedrock", "anthropic.claude-3-5-sonnet-20241022-v2:0", DAY_1, 1, 0, d(0), 1, 0, d(950), d(950), 1830, 250,
         d("0.00924"), d(0)),
        ("deepseek", "deepseek-chat", DAY_2, 1, 0, d(0), 0, 0, d(1000), d(1000), 1000, 300, d("0.000333"), d(0)),
        # pending: counted, not in cost
        ("openai", "ft:gpt-4o-mini-2024-07-18:acme:support:a1b2c3", DAY_2, 1, 0, d(0), 0, 1, d(600), d(600), 500, 100,
         d(0), d(0)),
        # the timed-out attempt: latency counts it, the success-only latency has nothing; its cost is wasted
        ("openai", "gpt-4o-mini-2024-07-18", DAY_1, 1, 1, d(1), 0, 0, d(900), None, 1830, 0,
         d("0.0001977"), d("0.0001977")),
        ("openai", "o3-mini-2025-01-31", DAY_1, 1, 0, d(0), 0, 0, d(1300), d(1300), 2000, 1500, d("0.0088"), d(0)),
        # on the day of its own start, though its trace began the day before
        ("vertex_ai", "gemini-2.5-pro", DAY_2, 1, 0, d(0), 0, 0, d(400), d(400), 10000, 800, d("0.016"), d(0)),
    ]  # fmt: skip


def test_endpoint_daily_status_classes_and_latency_percentiles(warehouse):
    columns = [
        "endpoint", "method", "request_date", "requests", "requests_2xx", "requests_4xx", "requests_5xx",
        "server_error_rate", "latency_p50_ms", "latency_p95_ms", "latency_p99_ms",
    ]  # fmt: skip
    assert rows(warehouse, "agg_endpoint_daily", columns) == [
        # 5 and 4 ms: p95 = 4 + 0.95 x 1, p99 = 4 + 0.99 x 1
        ("/api/v1/conversations", "GET", DAY_2, 2, 0, 2, 0, d(0), d("4.5"), d("4.95"), d("4.99")),
        # 10, 1000, 2000, 20000, 30000 ms: p50 the middle one, p95 = 20000 + 0.8 x 10000, p99 = 20000 + 0.96 x 10000
        (MESSAGES, "POST", DAY_1, 5, 2, 1, 2, d("0.4"), d(2000), d(28000), d(29600)),
        (MESSAGES, "POST", DAY_2, 1, 1, 0, 0, d(0), d(800), d(800), d(800)),
        ("/api/v1/orders/{order_id}/answers", "POST", DAY_2, 1, 1, 0, 0, d(0), d(1200), d(1200), d(1200)),
        # 1000 and 1500 ms: p50 = 1250, p95 = 1000 + 0.95 x 500, p99 = 1000 + 0.99 x 500
        ("/api/v1/reports", "POST", DAY_1, 2, 2, 0, 0, d(0), d(1250), d(1475), d(1495)),
    ]  # fmt: skip


def test_error_groups_carry_one_sample_traceback(warehouse):
    columns = [
        "request_date", "endpoint", "method", "status_code", "error_status", "error_detail", "requests",
        "requests_with_traceback", "sample_request_id", "sample_traceback", "first_failed_at", "last_failed_at",
    ]  # fmt: skip
    assert rows(warehouse, "agg_endpoint_errors_daily", columns) == [
        (DAY_1, MESSAGES, "POST", 429, 429, "rate limit exceeded", 1, 0, "req_a3", None,
         datetime(2026, 11, 20, 12), datetime(2026, 11, 20, 12)),
        # req_a8 came later but without a traceback: the sample is req_a4, which has one
        (DAY_1, MESSAGES, "POST", 502, 502, "upstream timeout", 2, 1, "req_a4",
         "TimeoutError: provider did not answer in 30 s", datetime(2026, 11, 20, 13), datetime(2026, 11, 20, 13, 30)),
        (DAY_2, "/api/v1/conversations", "GET", 401, 401, "API key revoked", 1, 0, "req_a7", None,
         datetime(2026, 11, 21, 9, 30), datetime(2026, 11, 21, 9, 30)),
        (DAY_2, "/api/v1/conversations", "GET", 401, 401, "invalid API key", 1, 0, "req_a6", None,
         datetime(2026, 11, 21, 9), datetime(2026, 11, 21, 9)),
    ]  # fmt: skip


def test_rate_limits_blocked_versus_allowed_per_organization_key_and_day(warehouse):
    columns = [
        "organization_id", "api_key_id", "activity_date", "decisions", "allowed_events", "blocked_events",
        "blocked_share",
    ]  # fmt: skip
    assert rows(warehouse, "agg_rate_limit_daily", columns) == [
        ("org_acme", "key_acme_1", DAY_1, 2, 1, 1, d("0.5")),
        ("org_globex", "key_globex_1", DAY_2, 1, 0, 1, d(1)),
        ("org_globex", "key_globex_temp", DAY_2, 1, 0, 1, d(1)),
    ]
    # per organization and day, the keys add up to agg_org_daily's blocked count
    per_org = warehouse.query(
        "select organization_id, activity_date, sum(blocked_events) as blocked from marts.agg_rate_limit_daily "
        "group by all order by all"
    )
    assert [tuple(r.values()) for r in per_org] == [("org_acme", DAY_1, 1), ("org_globex", DAY_2, 2)]


def test_api_key_usage(warehouse):
    columns = [
        "api_key_id", "organization_id", "is_in_key_snapshot", "is_revoked", "has_traffic_after_revocation",
        "requests", "requests_last_30_days", "requests_after_revocation", "allowed_events", "blocked_events",
        "blocked_events_last_30_days", "pending_calls", "cost_usd", "last_used_at", "last_request_at", "as_of_date",
    ]  # fmt: skip
    assert rows(warehouse, "agg_api_key_usage", columns) == [
        # req_a1-a5 and req_a8; traces trc_a1 + trc_a2 (+ trc_a5, pending)
        ("key_acme_1", "org_acme", True, False, False, 6, 6, 0, 1, 1, 1, 1, d("0.0239877"),
         datetime(2026, 11, 21, 8), datetime(2026, 11, 21, 8), DAY_2),
        # revoked on 2026-11-01, still called on day 2; the platform's last use stops at the revocation
        ("key_acme_legacy", "org_acme", True, True, True, 1, 1, 1, 0, 0, 0, 0, d(0),
         datetime(2026, 10, 31, 23), datetime(2026, 11, 21, 9, 30), DAY_2),
        # trc_g1 0.0088 + trc_g3 0.016 + trc_g2 0.000333
        ("key_globex_1", "org_globex", True, False, False, 3, 3, 0, 0, 1, 1, 0, d("0.025133"),
         datetime(2026, 11, 21, 14), datetime(2026, 11, 21, 14), DAY_2),
        # seen only in a rate-limit decision
        ("key_globex_temp", "org_globex", False, False, False, 0, 0, 0, 0, 1, 1, 0, d(0), None, None, DAY_2),
    ]  # fmt: skip


FEEDBACK_MEASURES = [
    "ratings", "positive_ratings", "mean_rating", "share_positive", "rated_conversations", "positive_conversations",
    "rated_conversations_cost_usd", "cost_per_conversation_usd", "cost_per_positive_conversation_usd",
]  # fmt: skip
# conv_a1 (rated 5, cost 0.01455) and conv_a3 (rated 1, a 429 without LLM calls: cost 0)
ACME_AGENTS = (2, 1, d(3), d("0.5"), 2, 1, d("0.01455"), d("0.007275"), d("0.01455"))
# conv_a2 rated 4: positive at the default positive_rating_min
ACME_END_USERS = (1, 1, d(4), d(1), 1, 1, d("0.0094377"), d("0.0094377"), d("0.0094377"))
# conv_g2 rated 2: no positive conversation to divide by
GLOBEX = (1, 0, d(2), d(0), 1, 0, d("0.000333"), d("0.000333"), None)


def test_feedback_quality_per_customer_labels_with_the_cost_of_rated_conversations(warehouse):
    grain = ["organization_id", "workflow", "customer_persona", "customer_channel", "customer_segment"]
    assert rows(warehouse, "agg_feedback_quality", [*grain, "feedback_date", *FEEDBACK_MEASURES]) == [
        ("org_acme", "support-answer", "agent", "web", "enterprise", DAY_1, *ACME_AGENTS),
        ("org_acme", "support-answer", "end-user", "mobile", "smb", DAY_1, *ACME_END_USERS),
        ("org_globex", "order-lookup", "agent", "web", "enterprise", DAY_2, *GLOBEX),
    ]


def test_feedback_per_experiment_variant(warehouse):
    grain = ["organization_id", "workflow", "customer_experiment_variant", "feedback_date"]
    assert rows(warehouse, "agg_feedback_experiment_daily", [*grain, *FEEDBACK_MEASURES]) == [
        ("org_acme", "support-answer", "A", DAY_1, *ACME_AGENTS),
        ("org_acme", "support-answer", "B", DAY_1, *ACME_END_USERS),
        ("org_globex", "order-lookup", None, DAY_2, *GLOBEX),
    ]


TRACE_STEP_COLUMNS = [
    "step_number", "span_id", "kind", "provider", "attempt", "start_offset_ms", "duration_ms", "output_tokens",
    "cost_status", "cost_usd", "payload_input", "payload_output",
]  # fmt: skip


def trace_steps(warehouse, trace_id: str) -> list[tuple]:
    selected = ", ".join(TRACE_STEP_COLUMNS)
    found = warehouse.query(
        f"select {selected} from marts.fct_trace_steps where trace_id = ? order by step_number", [trace_id]
    )
    return [tuple(row.values()) for row in found]


def test_trace_steps_lay_out_one_trace_in_order(warehouse):
    assert trace_steps(warehouse, "trc_a1") == [
        (1, "spn_a1_root", "request", None, None, 0, 1000, None, None, None, None, None),
        # the payload as stored: the e-mail address was redacted at ingestion
        (2, "spn_a1_ret", "retrieval", None, None, 50, 100, None, None, None,
         "reset password for [redacted-email]", '["doc_12"]'),
        (3, "spn_a1_llm", "llm", "anthropic", 1, 200, 700, 400, "priced", d("0.01455"), None, None),
        (4, "spn_a1_post", "postprocess", None, None, 900, 50, None, None, None, None, None),
    ]  # fmt: skip
    assert trace_steps(warehouse, "trc_a2") == [
        (1, "spn_a2_root", "request", None, None, 0, 2000, None, None, None, None, None),
        (2, "spn_a2_llm1", "llm", "openai", 1, 100, 900, 0, "priced", d("0.0001977"), None, None),
        (3, "spn_a2_llm2", "llm", "bedrock", 2, 1000, 950, 250, "priced", d("0.00924"), None, None),
    ]  # fmt: skip


def test_trace_steps_cover_every_span_of_every_trace(warehouse):
    per_trace = warehouse.query(
        "select trace_id, count(*) as steps, max(step_number) as last_step, max(trace_date) as trace_date "
        "from marts.fct_trace_steps group by trace_id order by trace_id"
    )
    assert [tuple(r.values()) for r in per_trace] == [
        ("trc_a1", 4, 4, DAY_1),
        ("trc_a2", 3, 3, DAY_1),
        ("trc_a5", 2, 2, DAY_2),
        ("trc_g1", 2, 2, DAY_1),
        ("trc_g2", 3, 3, DAY_2),
        ("trc_g3", 2, 2, DAY_1),  # its LLM call started on day 2
    ]


def test_every_organization_mart_exports_only_that_organizations_rows(warehouse):
    # not read-only: dbt, run in this process, still holds the file with the default configuration
    with closing(duckdb.connect(str(warehouse.warehouse))) as con:
        marts = exportable_marts(con)
        ours = ["agg_api_key_usage", "agg_feedback_experiment_daily", "agg_feedback_quality", "agg_rate_limit_daily"]
        assert {"fct_trace_steps", *ours} <= set(marts)
        assert not {"agg_provider_model_daily", "agg_endpoint_daily", "agg_endpoint_errors_daily"} & set(marts)
        for name in sorted(marts):
            out = io.StringIO()
            written = export_to(con, name, "org_globex", out)
            exported = list(csv.DictReader(io.StringIO(out.getvalue())))
            (expected,) = con.execute(
                f"select count(*) from marts.{name} where organization_id = 'org_globex'"
            ).fetchone()
            assert {row["organization_id"] for row in exported} <= {"org_globex"}, name
            assert len(exported) == written == expected, name


def test_a_windowed_run_rebuilds_whole_traces_of_its_window_only(warehouse, tiny_landing):
    warehouse.load(tiny_landing / "late_corrections")
    # the trace steps and what they are built from, with the tests of those models only (a test that also
    # reads a mart left out here, like fct_traces, would compare it with a newer fct_llm_calls)
    warehouse.dbt("build", "--select", "+fct_trace_steps", "--indirect-selection", "cautious", window=DAY_2_WINDOW)

    # day 2: the corrected reported cost of spn_g2_llm, the trace's three steps still numbered 1 to 3
    assert [(s[1], s[9]) for s in trace_steps(warehouse, "trc_g2")] == [
        ("spn_g2_root", None),
        ("spn_g2_tool", None),
        ("spn_g2_llm", d("0.000444")),
    ]
    # day 1 waits for its own run: spn_a1_llm still has 400 output tokens
    assert [s[7] for s in trace_steps(warehouse, "trc_a1")] == [None, None, 400, None]
