"""Every mart number on the tiny landing data, worked out by hand in tests/fixtures/tiny_landing/README.md.

One warehouse is loaded and built once for the module; the tests read it, except the last one, which
builds again and expects identical marts.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

pytestmark = pytest.mark.slow

DAY_1, DAY_2 = date(2026, 11, 20), date(2026, 11, 21)


def usd(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


@pytest.fixture(scope="module")
def built(new_workspace, tiny_landing):
    workspace = new_workspace()
    loads = {result.endpoint: result for result in workspace.load(tiny_landing)}
    workspace.dbt("build")
    return workspace, loads


@pytest.fixture(scope="module")
def warehouse(built):
    return built[0]


def by_key(rows: list[dict], key: str, columns: list[str]) -> dict[str, tuple]:
    return {row[key]: tuple(row[column] for column in columns) for row in rows}


def test_the_fixture_delivers_duplicates_corrections_and_invalid_records(built):
    _, loads = built
    counts = {
        endpoint: (r.fetched, r.loaded, r.duplicates, r.quarantined, r.corrections) for endpoint, r in loads.items()
    }
    assert counts == {
        "logs": (14, 10, 1, 3, 1),
        "traces": (21, 17, 1, 3, 1),
        "feedback": (3, 2, 0, 1, 0),
        "rate-limits": (4, 3, 0, 1, 0),
        "keys": (2, 2, 0, 0, 0),
        "organizations": (4, 4, 0, 0, 2),
    }


def test_quarantine_counts_by_reason(warehouse):
    rows = warehouse.query(
        "select endpoint, quarantine_reason, count(*) as records "
        "from staging.stg_platform__quarantined_records group by all order by all"
    )
    assert [(r["endpoint"], r["quarantine_reason"], r["records"]) for r in rows] == [
        ("feedback", "rating: must be between 1 and 5", 1),
        ("logs", "duration_ms: expected an integer", 1),
        ("logs", "malformed JSON", 1),
        ("logs", "organization_id: missing", 1),
        ("rate-limits", "outcome: expected one of allowed, blocked", 1),
        ("traces", "llm is required when kind is 'llm'", 1),
        ("traces", "llm.usage: cache_read_input_tokens + cache_creation_input_tokens must not exceed input_tokens", 1),
        ("traces", "status: expected one of ok, error", 1),
    ]


CALL_COST_COLUMNS = [
    "cost_status",
    "price_id",
    "input_cost_usd",
    "cache_read_cost_usd",
    "cache_write_cost_usd",
    "output_cost_usd",
    "reasoning_cost_usd",
    "computed_cost_usd",
    "provider_reported_cost_usd",
    "reported_minus_computed_cost_usd",
    "cost_discrepancy_usd",
    "cost_usd",
]
PENDING = ("pending", None, *[None] * 10)


def priced(price_id: str, *costs: str, reported: str | None = None, difference: str | None = None) -> tuple:
    status = "priced" if reported is None else "provider_reported"
    *buckets, computed = (Decimal(c) for c in costs)
    cost = computed if reported is None else Decimal(reported)
    discrepancy = None if difference is None else abs(Decimal(difference))
    return (status, price_id, *buckets, computed, usd(reported), usd(difference), discrepancy, cost)


def test_cost_of_every_call(warehouse):
    calls = by_key(warehouse.query("select * from marts.fct_llm_calls"), "span_id", CALL_COST_COLUMNS)
    assert calls == {
        # claude-sonnet-4-5: 500 x 3 + 1000 x 0.3 + (1000 x 3.75 + 500 x 6, the 1h write) + 400 x 15, per 1e6
        "spn_a1_llm": priced(
            "anthropic:claude-sonnet-4-5-20250929:default:0:1970-01-01",
            "0.0015",
            "0.0003",
            "0.00675",
            "0.006",
            "0",
            "0.01455",
        ),
        # the failed attempt still bills: 806 x 0.15 + 1024 x 0.075, per 1e6
        "spn_a2_llm1": priced(
            "openai:gpt-4o-mini-2024-07-18:default:0:1970-01-01", "0.0001209", "0.0000768", "0", "0", "0", "0.0001977"
        ),
        # the failover: 1830 x 3 + 250 x 15, per 1e6
        "spn_a2_llm2": priced(
            "bedrock:anthropic.claude-3-5-sonnet-20241022-v2:0:default:0:1970-01-01",
            "0.00549",
            "0",
            "0",
            "0.00375",
            "0",
            "0.00924",
        ),
        # the fine-tune has no price row
        "spn_a5_llm": PENDING,
        # o3-mini after its correction: 2000 x 1.1 + 500 x 4.4 + 1000 reasoning x 4.4 (the output rate), per 1e6
        "spn_g1_llm": priced(
            "openai:o3-mini-2025-01-31:default:0:1970-01-01", "0.0022", "0", "0", "0.0022", "0.0044", "0.0088"
        ),
        # the provider's reported cost wins; computed at genai-prices' peak rate (14:00 UTC is inside its 00:30 to
        # 16:30 window), 400 x 0.27 + 600 x 0.07 + 300 x 1.1, per 1e6, kept beside
        "spn_g2_llm": priced(
            "deepseek:deepseek-chat:default:0:1970-01-01@00:30:00",
            "0.000108",
            "0.000042",
            "0",
            "0.00033",
            "0",
            "0.00048",
            reported="0.000333",
            difference="-0.000147",
        ),
        # gemini-2.5-pro: 6000 x 1.25 + 4000 x 0.125 + 800 x 10, per 1e6
        "spn_g3_llm": priced(
            "vertex_ai:gemini-2.5-pro:default:0:1970-01-01", "0.0075", "0.0005", "0", "0.008", "0", "0.016"
        ),
    }


def test_token_buckets_of_every_call(warehouse):
    columns = [
        "input_tokens",
        "uncached_input_tokens",
        "cache_read_tokens",
        "cache_write_tokens",
        "cache_write_5m_tokens",
        "cache_write_1h_tokens",
        "output_tokens",
        "reasoning_tokens",
        "call_date",
    ]
    calls = by_key(warehouse.query("select * from marts.fct_llm_calls"), "span_id", columns)
    assert calls == {
        "spn_a1_llm": (3000, 500, 1000, 1500, 1000, 500, 400, 0, DAY_1),
        "spn_a2_llm1": (1830, 806, 1024, 0, 0, 0, 0, 0, DAY_1),
        "spn_a2_llm2": (1830, 1830, 0, 0, 0, 0, 250, 0, DAY_1),
        "spn_a5_llm": (500, 500, 0, 0, 0, 0, 100, 0, DAY_2),
        "spn_g1_llm": (2000, 2000, 0, 0, 0, 0, 1500, 1000, DAY_1),
        "spn_g2_llm": (1000, 400, 600, 0, 0, 0, 300, 0, DAY_2),
        # counted on the day of its own start, though its trace started the day before
        "spn_g3_llm": (10000, 6000, 4000, 0, 0, 0, 800, 0, DAY_2),
    }


def test_money_columns_are_exact_decimals_never_double(warehouse):
    types = warehouse.query(
        "select table_name, column_name, data_type from information_schema.columns "
        "where table_schema in ('intermediate', 'marts') and column_name like '%\\_usd' escape '\\'"
    )
    assert len(types) >= 20
    assert {(t["table_name"], t["column_name"]) for t in types if t["data_type"] != "DECIMAL(38,18)"} == set()


def test_traces(warehouse):
    columns = [
        "organization_id",
        "status",
        "final_provider",
        "final_model",
        "duration_ms",
        "request_duration_ms",
        "retrieval_duration_ms",
        "llm_duration_ms",
        "postprocess_duration_ms",
        "tool_duration_ms",
        "spans",
        "llm_attempts",
        "failovers",
        "failed_llm_attempts",
        "pending_calls",
        "cost_usd",
        "wasted_cost_usd",
        "trace_date",
    ]
    traces = by_key(warehouse.query("select * from marts.fct_traces"), "trace_id", columns)
    d = Decimal
    assert traces == {
        "trc_a1": ("org_acme", "ok", "anthropic", "claude-sonnet-4-5-20250929",
                   1000, 1000, 100, 700, 50, 0, 4, 1, 0, 0, 0, d("0.01455"), d(0), DAY_1),
        # failover: openai timed out (its cost is wasted), bedrock answered
        "trc_a2": ("org_acme", "ok", "bedrock", "anthropic.claude-3-5-sonnet-20241022-v2:0",
                   2000, 2000, 0, 1850, 0, 0, 3, 2, 1, 1, 0, d("0.0094377"), d("0.0001977"), DAY_1),
        "trc_a5": ("org_acme", "ok", "openai", "ft:gpt-4o-mini-2024-07-18:acme:support:a1b2c3",
                   800, 800, 0, 600, 0, 0, 2, 1, 0, 0, 1, d(0), d(0), DAY_2),
        "trc_g1": ("org_globex", "ok", "openai", "o3-mini-2025-01-31",
                   1500, 1500, 0, 1300, 0, 0, 2, 1, 0, 0, 0, d("0.0088"), d(0), DAY_1),
        # a failed tool span fails the trace
        "trc_g2": ("org_globex", "error", "deepseek", "deepseek-chat",
                   1200, 1200, 0, 1000, 0, 40, 3, 1, 0, 0, 0, d("0.000333"), d(0), DAY_2),
        # crosses midnight: 23:59:59.500 to 00:00:00.500
        "trc_g3": ("org_globex", "ok", "vertex_ai", "gemini-2.5-pro",
                   1000, 1000, 0, 400, 0, 0, 2, 1, 0, 0, 0, d("0.016"), d(0), DAY_1),
    }  # fmt: skip


def test_requests(warehouse):
    columns = [
        "organization_id",
        "status_code",
        "status_class",
        "duration_ms",
        "request_date",
        "customer_user_id",
        "customer_segment",
        "customer_persona",
        "customer_channel",
        "customer_experiment_variant",
        "error_detail",
    ]
    requests = by_key(warehouse.query("select * from marts.fct_requests"), "request_id", columns)
    no_customer = (None, None, None, None, None)
    assert requests == {
        "req_a1": ("org_acme", 200, "2xx", 1000, DAY_1, "u_1", "enterprise", "agent", "web", "A", None),
        "req_a2": ("org_acme", 200, "2xx", 2000, DAY_1, "u_2", "smb", "end-user", "mobile", "B", None),
        "req_a3": ("org_acme", 429, "4xx", 10, DAY_1, "u_1", "enterprise", "agent", "web", "A", "rate limit exceeded"),
        # the correction (502 after 500) wins
        "req_a4": ("org_acme", 502, "5xx", 30000, DAY_1, *no_customer, "upstream timeout"),
        "req_a5": ("org_acme", 200, "2xx", 800, DAY_2, "u_3", "smb", "end-user", "web", "B", None),
        "req_a6": ("org_acme", 401, "4xx", 5, DAY_2, *no_customer, "invalid API key"),
        "req_g1": ("org_globex", 200, "2xx", 1500, DAY_1, "u_9", "enterprise", "analyst", "api", None, None),
        "req_g2": ("org_globex", 200, "2xx", 1200, DAY_2, "u_8", "enterprise", "agent", "web", None, None),
        "req_g3": ("org_globex", 200, "2xx", 1000, DAY_1, "u_9", "enterprise", "analyst", "api", None, None),
    }


def test_org_daily(warehouse):
    rows = warehouse.query("select * from marts.agg_org_daily order by organization_id, activity_date")
    d = Decimal
    assert [tuple(row.values()) for row in rows] == [
        # org, day, requests, 4xx, 5xx, blocked, calls, pending,
        #   input, uncached, cache read, cache write, output, reasoning, cost, latency p50/p95/p99
        ("org_acme", DAY_1, 4, 1, 1, 1, 3, 0,
         6660, 3136, 2024, 1500, 650, 0, d("0.0239877"), d("1500"), d("25800"), d("29160")),
        ("org_acme", DAY_2, 2, 1, 0, 0, 1, 1,
         500, 500, 0, 0, 100, 0, d(0), d("402.5"), d("760.25"), d("792.05")),
        ("org_globex", DAY_1, 2, 0, 0, 0, 1, 0,
         2000, 2000, 0, 0, 1500, 1000, d("0.0088"), d("1250"), d("1475"), d("1495")),
        ("org_globex", DAY_2, 1, 0, 0, 1, 2, 0,
         11000, 6400, 4600, 0, 1100, 0, d("0.016333"), d("1200"), d("1200"), d("1200")),
    ]  # fmt: skip
    assert list(rows[0]) == [
        "organization_id",
        "activity_date",
        "requests",
        "requests_4xx",
        "requests_5xx",
        "blocked_by_rate_limit",
        "llm_calls",
        "pending_calls",
        "input_tokens",
        "uncached_input_tokens",
        "cache_read_tokens",
        "cache_write_tokens",
        "output_tokens",
        "reasoning_tokens",
        "cost_usd",
        "request_latency_p50_ms",
        "request_latency_p95_ms",
        "request_latency_p99_ms",
    ]


def test_the_latest_snapshot_wins_even_when_a_stale_one_arrives_later(warehouse):
    orgs = warehouse.query("select * from staging.stg_platform__organizations")
    assert by_key(orgs, "organization_id", ["plan", "monthly_budget_usd"]) == {
        "org_acme": ("growth", Decimal("3000")),
        "org_globex": ("enterprise", Decimal("1000")),
    }


def test_building_the_same_data_twice_gives_identical_marts(warehouse):
    first = warehouse.marts_snapshot()
    warehouse.dbt("build")
    assert warehouse.marts_snapshot() == first
