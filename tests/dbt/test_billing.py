"""Billing statements, adjustments and ROI on the tiny hand-checked data, to the cent.

The workspace bills on rate cards written for this test (not the commercial ones in pricing_seeds/), chosen so
every rule shows in cents:

- org_acme, plan growth: the 2026-11 card (fee 100, 5 requests included, 250 USD per 1,000 beyond, AI usage at
  cost x 100, failed attempts NOT billed); an older growth card (fee 50) applies until 2026-10 only.
- org_globex, plan enterprise: fee 200, 2 requests included, 5 USD per 1,000 beyond, failed attempts billed,
  and an override of the organization that sets only the AI usage price to cost x 50.

Provider costs are those of tests/fixtures/tiny_landing/README.md. Amounts round half to even per line:

| line | exact | cents |
|---|---|---|
| acme overage: 6 requests - 5 = 1 x 0.25 | 0.25 | 0.25 |
| acme anthropic: 0.01455 x 100 | 1.455 | 1.46 (145.5 cents, 145 is odd) |
| acme bedrock: 0.00924 x 100 | 0.924 | 0.92 |
| acme openai gpt-4o-mini: failed attempt 0.0001977, not billed | - | 0.00 |
| acme fine-tune: pending, 1 call of 600 tokens | - | 0.00 |
| globex overage: 3 requests - 2 = 1 x 0.005 | 0.005 | 0.00 (half a cent, 0 is even; half-up would say 0.01) |
| globex deepseek: 0.000333 x 50 | 0.01665 | 0.02 |
| globex o3-mini: 0.0088 x 50 | 0.44 | 0.44 |
| globex gemini: 0.016 x 50 | 0.8 | 0.80 |

Totals: acme 100 + 0.25 + 1.46 + 0.92 = 102.63; globex 200 + 0.02 + 0.44 + 0.80 = 201.26.

Then 2026-11 is closed, and after it: the late corrections (acme's claude call outputs 500 tokens instead of 400:
0.01605 x 100 = 1.605 -> 1.60, half to even), a price for the fine-tune (0.00027 x 100 = 0.027 -> 0.03) and
an override billing acme's failed attempts (0.0001977 x 100 = 0.01977 -> 0.02). The closed statements stay
as they were; 2026-12 gets the adjustments: +0.14, +0.03, +0.02.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal

import duckdb
import pytest
from dbt.cli.main import dbtRunner
from hypothesis import given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.slow

NOVEMBER, DECEMBER, JANUARY = date(2026, 11, 1), date(2026, 12, 1), date(2027, 1, 1)
FINE_TUNE = "ft:gpt-4o-mini-2024-07-18:acme:support:a1b2c3"
ANTHROPIC = "ai_usage/anthropic/claude-sonnet-4-5-20250929"
BILLING = ("build", "--select", "+tag:billing")
# after a change: the billing marts and every model and seed they read, without the tests (faster)
REBUILD = ("build", "--select", "+tag:billing", "--exclude-resource-type", "test", "unit_test")
RATE_CARDS = [
    {"rate_card_id": "growth@2025-01-01", "plan": "growth", "valid_from": "2025-01-01", "valid_to": "2026-11-01",
     "monthly_fee_usd": "50", "included_requests": "5", "overage_usd_per_1k_requests": "250",
     "ai_markup_rate": "99", "bills_failed_attempts": "false"},
    {"rate_card_id": "growth@2026-11-01", "plan": "growth", "valid_from": "2026-11-01",
     "monthly_fee_usd": "100", "included_requests": "5", "overage_usd_per_1k_requests": "250",
     "ai_markup_rate": "99", "bills_failed_attempts": "false"},
    {"rate_card_id": "enterprise@2025-01-01", "plan": "enterprise", "valid_from": "2025-01-01",
     "monthly_fee_usd": "200", "included_requests": "2", "overage_usd_per_1k_requests": "5",
     "ai_markup_rate": "0.1", "bills_failed_attempts": "true"},
]  # fmt: skip
GLOBEX_OVERRIDE = {"override_id": "org_globex@2026-01-01", "organization_id": "org_globex", "valid_from": "2026-01-01",
                   "ai_markup_rate": "49"}  # fmt: skip
ACME_BILLS_FAILED = {"override_id": "org_acme@2026-11-01", "organization_id": "org_acme", "valid_from": "2026-11-01",
                     "bills_failed_attempts": "true"}  # fmt: skip
LINE_COLUMNS = (
    "line_number",
    "line_id",
    "quantity",
    "unit",
    "unit_price_usd",
    "amount_usd",
    "requests",
    "calls",
    "tokens",
)
d = Decimal


def line(number, line_id, quantity, unit, unit_price, amount, requests=None, calls=None, tokens=None) -> tuple:
    price = None if unit_price is None else d(unit_price)
    return (number, line_id, d(quantity), unit, price, d(amount), requests, calls, tokens)


ACME_NOVEMBER = [
    line(1, "platform_fee", "1", "month", "100", "100.00"),
    line(2, "request_overage", "0.001", "1,000 requests", "250", "0.25", requests=6),
    line(3, ANTHROPIC, "0.01455", "USD provider cost", "100", "1.46", calls=1, tokens=3400),
    line(
        4,
        "ai_usage/bedrock/anthropic.claude-3-5-sonnet-20241022-v2:0",
        "0.00924",
        "USD provider cost",
        "100",
        "0.92",
        calls=1,
        tokens=2080,
    ),
    line(
        5,
        "failed_attempts_not_billed/openai/gpt-4o-mini-2024-07-18",
        "0.0001977",
        "USD provider cost",
        "0",
        "0",
        calls=1,
        tokens=1830,
    ),
    line(6, f"pending_usage/openai/{FINE_TUNE}", "1", "calls", None, "0", calls=1, tokens=600),
]
GLOBEX_NOVEMBER = [
    line(1, "platform_fee", "1", "month", "200", "200.00"),
    line(2, "request_overage", "0.001", "1,000 requests", "5", "0.00", requests=3),
    line(3, "ai_usage/deepseek/deepseek-chat", "0.000333", "USD provider cost", "50", "0.02", calls=1, tokens=1300),
    line(4, "ai_usage/openai/o3-mini-2025-01-31", "0.0088", "USD provider cost", "50", "0.44", calls=1, tokens=3500),
    line(5, "ai_usage/vertex_ai/gemini-2.5-pro", "0.016", "USD provider cost", "50", "0.80", calls=1, tokens=10800),
]


def lines_of(workspace, organization_id: str, month: date) -> list[tuple]:
    rows = workspace.query(
        f"select {', '.join(LINE_COLUMNS)} from marts.billing_statement_lines "
        "where organization_id = ? and billing_month = ? order by line_number",
        [organization_id, month],
    )
    return [tuple(row[column] for column in LINE_COLUMNS) for row in rows]


def statements(workspace) -> dict[tuple[str, date], dict]:
    rows = workspace.query("select * from marts.billing_statements")
    return {(row["organization_id"], row["billing_month"]): row for row in rows}


def close(workspace, month: str) -> None:
    workspace.dbt("run-operation", "close_billing_month", "--args", f"{{billing_month: {month}}}")
    workspace.dbt("build", "--select", "tag:billing")


@pytest.fixture(scope="module")
def billed(new_workspace, tiny_landing):
    workspace = new_workspace()
    workspace.write_seed("rate_cards", RATE_CARDS)
    workspace.write_seed("rate_card_overrides", [GLOBEX_OVERRIDE])
    workspace.load(tiny_landing)
    workspace.dbt(*BILLING)
    return workspace


def test_each_statement_line_to_the_cent(billed):
    assert lines_of(billed, "org_acme", NOVEMBER) == ACME_NOVEMBER
    assert lines_of(billed, "org_globex", NOVEMBER) == GLOBEX_NOVEMBER


def test_statement_totals_are_the_sums_of_their_lines_and_pending_calls_are_counted_not_billed(billed):
    columns = ("status", "plan", "rate_card_id", "platform_fee_usd", "request_overage_usd", "ai_usage_usd",
               "adjustments_usd", "total_usd", "requests", "pending_calls", "pending_tokens", "line_count")  # fmt: skip
    found = {key: tuple(row[column] for column in columns) for key, row in statements(billed).items()}

    assert found == {
        ("org_acme", NOVEMBER): ("open", "growth", "growth@2026-11-01", d("100"), d("0.25"), d("2.38"), d(0),
                                 d("102.63"), 6, 1, 600, 6),
        ("org_globex", NOVEMBER): ("open", "enterprise", "enterprise@2025-01-01", d("200"), d(0), d("1.26"), d(0),
                                   d("201.26"), 3, 0, 0, 5),
    }  # fmt: skip


def test_statements_reconcile_with_the_fact_marts_for_their_own_organization_only(billed):
    # per organization and month: AI usage + unbilled failed attempts = the cost of record of that
    # organization's calls, every decimal; requests = that organization's requests; nothing else on it
    reconciled = billed.query(
        """
        with lines as (
            select organization_id, billing_month,
                sum(case when line_type in ('ai_usage', 'failed_attempts_not_billed') then quantity end) as cost_usd,
                coalesce(sum(case when line_type = 'pending_usage' then calls end), 0) as pending_calls,
                sum(requests) as requests,
                list(distinct provider || '/' || model order by provider || '/' || model)
                    filter (where provider is not null) as models
            from marts.billing_statement_lines group by all
        ), calls as (
            select organization_id, cast(date_trunc('month', started_at) as date) as billing_month,
                sum(cost_usd) as cost_usd, count(*) filter (where cost_status = 'pending') as pending_calls,
                list(distinct provider || '/' || model order by provider || '/' || model) as models
            from marts.fct_llm_calls group by all
        ), requests as (
            select organization_id, cast(date_trunc('month', requested_at) as date) as billing_month,
                count(*) as requests
            from marts.fct_requests group by all
        )
        select lines.organization_id,
            lines.cost_usd = calls.cost_usd and lines.pending_calls = calls.pending_calls
            and lines.requests = requests.requests and lines.models = calls.models as reconciles
        from lines
        join calls using (organization_id, billing_month)
        join requests using (organization_id, billing_month)
        order by 1
        """
    )
    assert reconciled == [
        {"organization_id": "org_acme", "reconciles": True},
        {"organization_id": "org_globex", "reconciles": True},
    ]


def test_roi_per_organization_and_month(billed):
    columns = ("revenue_usd", "provider_cost_usd", "gross_margin_usd", "gross_margin_pct", "llm_calls",
               "pending_calls", "conversations", "successful_conversations", "cost_per_successful_conversation_usd",
               "feedback_ratings", "positive_ratings", "positive_feedback_rate")  # fmt: skip
    rows = billed.query("select * from marts.org_roi_monthly order by organization_id")

    assert [(row["organization_id"], row["billing_month"]) for row in rows] == [
        ("org_acme", NOVEMBER),
        ("org_globex", NOVEMBER),
    ]
    assert [tuple(row[column] for column in columns) for row in rows] == [
        # cost: every attempt with a cost, the failed one included; 3 conversations, all ok; fb_1 rated 5
        (d("102.63"), d("0.0239877"), d("102.6060123"), d("99.976627"), 4, 1, 3, 3, d("0.0079959"), 1, 1, d(1)),
        # conv_g2's trace failed; fb_2 rated 2
        (d("201.26"), d("0.025133"), d("201.234867"), d("99.987512"), 3, 0, 3, 2, d("0.0125665"), 1, 0, d(0)),
    ]


@pytest.fixture(scope="module")
def closed_then_changed(billed, tiny_landing):
    """2026-11 closed; then late corrections, a price for the fine-tune and an override billing acme's failed
    attempts; the billing marts rebuilt."""
    before = {
        "statements": statements(billed),
        "lines": billed.query("select * from marts.billing_statement_lines order by all"),
    }
    close(billed, "2026-11")
    after_close = {
        "statements": statements(billed),
        "lines": billed.query("select * from marts.billing_statement_lines order by all"),
    }
    billed.load(tiny_landing / "late_corrections")
    billed.add_price(
        price_id=f"override:openai:{FINE_TUNE}:default:0:2026-11-01",
        provider="openai",
        model=FINE_TUNE,
        service_tier="default",
        input_tokens_above="0",
        valid_from="2026-11-01",
        input_usd_per_mtok="0.3",
        output_usd_per_mtok="1.2",
        source="override",
        source_key="test",
        note="test: the fine-tune's negotiated rate",
    )
    billed.write_seed("rate_card_overrides", [GLOBEX_OVERRIDE, ACME_BILLS_FAILED])
    billed.dbt(*REBUILD)
    return billed, before, after_close


def test_closing_freezes_the_statements_as_they_were(closed_then_changed):
    _, before, after_close = closed_then_changed
    statuses = {key: row["status"] for key, row in after_close["statements"].items()}

    assert statuses == {("org_acme", NOVEMBER): "closed", ("org_globex", NOVEMBER): "closed"}
    assert after_close["lines"] == before["lines"]
    for key, row in after_close["statements"].items():
        assert row["closed_at"] is not None
        assert {k: v for k, v in row.items() if k not in ("status", "closed_at")} == {
            k: v for k, v in before["statements"][key].items() if k not in ("status", "closed_at")
        }


def test_a_closed_statement_never_changes_and_later_changes_land_on_the_next_open_month(closed_then_changed):
    workspace, _, after_close = closed_then_changed
    now = statements(workspace)

    # November as closed, to the byte of its hash
    for key in after_close["statements"]:
        assert now[key] == after_close["statements"][key]
    assert lines_of(workspace, "org_acme", NOVEMBER) == ACME_NOVEMBER
    assert lines_of(workspace, "org_globex", NOVEMBER) == GLOBEX_NOVEMBER
    # December carries acme's adjustments, referencing November; globex's deepseek line still rounds to 0.02
    adjustments = workspace.query(
        "select organization_id, billing_month, line_number, line_id, reference_month, adjusted_line_id, amount_usd "
        "from marts.billing_statement_lines where line_type = 'adjustment' order by line_number"
    )
    assert adjustments == [
        {"organization_id": "org_acme", "billing_month": DECEMBER, "line_number": number,
         "line_id": f"adjustment/2026-11/{adjusted}", "reference_month": NOVEMBER, "adjusted_line_id": adjusted,
         "amount_usd": d(amount)}
        for number, adjusted, amount in [
            (1, ANTHROPIC, "0.14"),  # 1.60 - 1.46: the late correction
            (2, f"ai_usage/openai/{FINE_TUNE}", "0.03"),  # priced since
            (3, "ai_usage/openai/gpt-4o-mini-2024-07-18", "0.02"),  # failed attempts billed since
        ]
    ]  # fmt: skip
    december = now[("org_acme", DECEMBER)]
    assert (december["status"], december["total_usd"], december["adjustments_usd"], december["rate_card_id"]) == (
        "open",
        d("0.19"),
        d("0.19"),
        None,
    )
    # revenue follows the month of usage: what November billed plus its adjustments
    revenue = workspace.query("select organization_id, revenue_usd from marts.org_roi_monthly order by 1")
    assert revenue == [
        {"organization_id": "org_acme", "revenue_usd": d("102.82")},
        {"organization_id": "org_globex", "revenue_usd": d("201.26")},
    ]


def test_adjustments_closed_on_a_later_statement_count_as_billed(closed_then_changed):
    workspace, _, _ = closed_then_changed
    close(workspace, "2026-12")
    # the failed attempts are no longer billed: November now bills 0.02 less than closed + adjusted
    workspace.write_seed("rate_card_overrides", [GLOBEX_OVERRIDE])
    workspace.dbt("build", "--select", "tag:billing")

    adjustments = workspace.query(
        "select billing_month, line_id, amount_usd from marts.billing_statement_lines "
        "where line_type = 'adjustment' order by billing_month, line_number"
    )
    assert adjustments == [
        {"billing_month": DECEMBER, "line_id": f"adjustment/2026-11/{ANTHROPIC}", "amount_usd": d("0.14")},
        {"billing_month": DECEMBER, "line_id": f"adjustment/2026-11/ai_usage/openai/{FINE_TUNE}",
         "amount_usd": d("0.03")},
        {"billing_month": DECEMBER, "line_id": "adjustment/2026-11/ai_usage/openai/gpt-4o-mini-2024-07-18",
         "amount_usd": d("0.02")},
        # the first open month after November, December being closed too
        {"billing_month": JANUARY, "line_id": "adjustment/2026-11/ai_usage/openai/gpt-4o-mini-2024-07-18",
         "amount_usd": d("-0.02")},
    ]  # fmt: skip
    status = {key: row["status"] for key, row in statements(workspace).items()}
    assert status[("org_acme", DECEMBER)] == "closed" and status[("org_acme", JANUARY)] == "open"


def test_closing_a_closed_month_changes_nothing(closed_then_changed):
    workspace, _, _ = closed_then_changed
    ledger = workspace.query("select * from billing.billing_closed_statement_lines order by all")
    closed_at = workspace.query("select * from billing.billing_closed_months order by all")

    workspace.dbt("run-operation", "close_billing_month", "--args", "{billing_month: 2026-11}")

    assert workspace.query("select * from billing.billing_closed_statement_lines order by all") == ledger
    assert workspace.query("select * from billing.billing_closed_months order by all") == closed_at


@pytest.fixture(scope="module")
def cents_sql(new_workspace) -> Callable[[Decimal], Decimal]:
    """The round_to_cents macro compiled once, evaluated by DuckDB for any amount."""
    workspace = new_workspace()
    result = dbtRunner().invoke(
        ["compile", "--inline", "select {{ round_to_cents('amount') }} as cents from input",
         "--project-dir", str(workspace.project_dir), "--profiles-dir", str(workspace.project_dir),
         "--target", "lint", "--quiet"]
    )  # fmt: skip
    assert result.success, result.exception
    sql = result.result.results[0].node.compiled_code
    con = duckdb.connect()

    def evaluate(amount: Decimal) -> Decimal:
        con.execute("create or replace temp table input as select cast(? as decimal(38, 18)) as amount", [amount])
        return con.execute(sql).fetchone()[0]

    return evaluate


amounts = st.decimals(min_value=d("-1e6"), max_value=d("1e6"), places=18, allow_nan=False, allow_infinity=False)
# exactly half a cent, where half to even and half away from zero differ every other time
half_cents = st.integers(min_value=-(10**8), max_value=10**8).map(lambda n: d(n) / 100 + d("0.005"))


@settings(max_examples=150, deadline=None)
@given(amount=st.one_of(amounts, half_cents))
def test_round_to_cents_is_half_to_even_like_python(cents_sql, amount):
    assert cents_sql(amount) == amount.quantize(d("0.01"), rounding=ROUND_HALF_EVEN)
