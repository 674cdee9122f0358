"""The cost ledger, one pricing feature per test, on hand-checked numbers.

The module writes its own price seeds (list prices as published, e.g. Claude Sonnet 4.5 at 3 / 0.3 / 3.75 /
6 / 15 USD per million tokens) and LLM spans into a private workspace, builds the pricing part of the dbt
project once, then corrects the seeds the way an operator would (a rate fixed, a validity moved, a price added
for a pending model) and runs the next normal, windowed run: exactly the calls those edits affect change.

Every cost below is tokens x USD per million / 1e6, bucket by bucket.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.slow

# The pricing marts and everything upstream of them (seeds, staging, the ledger), with the tests of those
# nodes only (cautious: not the tests of other marts that read the ledger).
PRICING_SELECTION = (
    "--select",
    "+fct_traces +fct_trace_steps +pending_llm_calls +agg_provider_wasted_daily +pricing_source_disagreements",
    "--indirect-selection",
    "cautious",
)
# A day without any call: the next daily run after the corrections.
NEXT_DAY_WINDOW = (datetime(2026, 11, 25, tzinfo=UTC), datetime(2026, 11, 26, tzinfo=UTC))

SONNET = "claude-sonnet-4-5-20250929"
NOT_REBUILT = "(not rebuilt)"
FINE_TUNE = "ft:gpt-4o-2024-08-06:acme::x1"
PRICE_COLUMNS = ("input", "cache_read", "cache_write_5m", "cache_write_1h", "output", "reasoning")


def price(
    provider: str,
    model: str,
    rates: str,
    tier: str = "default",
    above: int = 0,
    *,
    request: str = "",
    utc_times: tuple[str, str] | None = None,
    mode: str = "chat",
    **validity: str,
) -> dict:
    """A provider_prices row; ``rates`` is "input/cache read/5m write/1h write/output/reasoning", '-' = empty;
    ``request`` the fee per thousand requests, ``utc_times`` a (from, to) window of the UTC day."""
    valid_from = validity.get("valid_from", "1970-01-01")
    cells = dict(zip(PRICE_COLUMNS, rates.split("/"), strict=True))
    time_from, time_to = utc_times or ("", "")
    return {
        "price_id": f"{provider}:{model}:{tier}:{above}:{valid_from}" + (f"@{time_from}" if time_from else ""),
        "provider": provider,
        "model": model,
        "mode": mode,
        "service_tier": tier,
        "input_tokens_above": str(above),
        "valid_from": valid_from,
        "valid_to": validity.get("valid_to", ""),
        "utc_time_from": time_from,
        "utc_time_to": time_to,
        **{f"{usage}_usd_per_mtok": "" if cell == "-" else cell for usage, cell in cells.items()},
        "request_usd_per_thousand": request,
        "source": "litellm",
        "source_key": model,
    }


def override(provider: str, model: str, rates: str, valid_from: str = "1970-01-01") -> dict:
    row = price(provider, model, rates, valid_from=valid_from)
    return {**row, "price_id": f"override:{row['price_id']}", "source": "override", "note": "test"}


def rule(provider: str, match_type: str, pattern: str, model: str) -> dict:
    return {"provider": provider, "match_type": match_type, "pattern": pattern, "model": model, "rule_source": "test"}


PROVIDER_PRICES = [
    price("anthropic", SONNET, "3/0.3/3.75/6/15/-"),
    price("anthropic", SONNET, "6/0.6/7.5/12/22.5/-", above=200000),
    price("anthropic", SONNET, "1.5/0.15/1.875/3/7.5/-", tier="batch"),
    price("bedrock", "anthropic.claude-3-5-haiku-20241022-v1:0", "0.8/0.08/1/-/4/-"),
    price("deepseek", "deepseek-chat", "0.28/0.028/-/-/0.42/-"),
    price("google", "gemini-2.5-flash-preview-04-17", "0.15/0.0375/-/-/0.6/3.5"),
    price("openai", "gpt-4o-2024-08-06", "2.5/1.25/-/-/10/-"),
    price("openai", "gpt-4o-2024-08-06", "4.25/2.125/-/-/17/-", tier="priority"),
    # a dated price change: o3 cut from 10 / 40 to 2 / 8 at 2026-11-20 00:00:00 UTC
    price("openai", "o3", "10/2.5/-/-/40/-", valid_to="2026-11-20"),
    price("openai", "o3", "2/0.5/-/-/8/-", valid_from="2026-11-20"),
    # off-peak prices (genai-prices' DeepSeek): the standard rate from 00:30 to 16:30 UTC, half of it otherwise
    price("deepseek", "deepseek-reasoner", "0.275/0.07/-/-/1.095/-", utc_times=("00:00:00", "00:30:00")),
    price("deepseek", "deepseek-reasoner", "0.55/0.14/-/-/2.19/-", utc_times=("00:30:00", "16:30:00")),
    price("deepseek", "deepseek-reasoner", "0.275/0.07/-/-/1.095/-", utc_times=("16:30:00", "")),
    # a fee per request beside the token rates (genai-prices' Perplexity Sonar: 12 USD per thousand requests)
    price("perplexity", "sonar", "1/-/-/-/1/-", request="12"),
    # embeddings: input only, output free
    price("openai", "text-embedding-3-small", "0.02/-/-/-/0/-", mode="embedding"),
    price("cohere", "embed-v4.0", "0.12/-/-/-/0/-", mode="embedding"),
    # a provider beyond the platform's first eleven, under the id LiteLLM uses for it
    price("together_ai", "meta-llama/Llama-3.3-70B-Instruct-Turbo", "0.88/-/-/-/0.88/-"),
]
MATCH_RULES = [
    rule("anthropic", "exact", SONNET, SONNET),
    rule("anthropic", "prefix", "claude-sonnet-4-5", SONNET),
    rule("bedrock", "exact", "anthropic.claude-3-5-haiku-20241022-v1:0", "anthropic.claude-3-5-haiku-20241022-v1:0"),
    rule("bedrock", "exact", "us.anthropic.claude-3-5-haiku-20241022-v1:0", "anthropic.claude-3-5-haiku-20241022-v1:0"),
    rule("deepseek", "exact", "deepseek-chat", "deepseek-chat"),
    rule("google", "exact", "gemini-2.5-flash-preview-04-17", "gemini-2.5-flash-preview-04-17"),
    rule("google", "exact", "models/gemini-2.5-flash-preview-04-17", "gemini-2.5-flash-preview-04-17"),
    rule("openai", "exact", "gpt-4o-2024-08-06", "gpt-4o-2024-08-06"),
    rule("openai", "exact", "o3", "o3"),
    rule("openai", "exact", "o3-2025-04-16", "o3"),
    rule("deepseek", "exact", "deepseek-reasoner", "deepseek-reasoner"),
    rule("perplexity", "exact", "sonar", "sonar"),
    rule("openai", "exact", "text-embedding-3-small", "text-embedding-3-small"),
    rule("cohere", "exact", "embed-v4.0", "embed-v4.0"),
    rule("together_ai", "exact", "meta-llama/llama-3.3-70b-instruct-turbo", "meta-llama/Llama-3.3-70B-Instruct-Turbo"),
]
PRICE_OVERRIDES = [
    override("self_hosted", "llama-3.1-8b-instruct", "0/-/-/-/0/-"),
    # a negotiated DeepSeek rate from 2026-11-21 on
    override("deepseek", "deepseek-chat", "0.2/0.02/-/-/0.3/-", valid_from="2026-11-21"),
]
DISAGREEMENTS = [
    {
        "provider": "anthropic",
        "model": SONNET,
        "usage_type": "cache_write_1h",
        "service_tier": "default",
        "input_tokens_above": "0",
        "litellm_usd_per_mtok": "6",
        "genai_prices_usd_per_mtok": "",
        "langfuse_usd_per_mtok": "",
        "seed_usd_per_mtok": "6",
        "seed_source": "litellm",
        "disagreement": "price_differs",
    },
    {
        "provider": "openai",
        "model": "o3",
        "service_tier": "default",
        "input_tokens_above": "0",
        "seed_source": "litellm",
        "disagreement": "missing_in_langfuse",
    },
]


def llm_span(span_id: str, provider: str, model: str, started_at: str, **usage: Any) -> dict:
    """An LLM span of the source contract; keyword arguments are usage counts, plus status, attempt,
    trace_id, service_tier, error_type and provider_reported_cost_usd."""
    llm = {
        "provider": provider,
        "model": model,
        "attempt": usage.pop("attempt", 1),
        "service_tier": usage.pop("service_tier", None),
        "provider_reported_cost_usd": usage.pop("provider_reported_cost_usd", None),
        "error_type": usage.pop("error_type", None),
    }
    status = usage.pop("status", "ok")
    trace_id = usage.pop("trace_id", f"trc_{span_id}")
    return {
        "span_id": span_id,
        "trace_id": trace_id,
        "organization_id": "org_a",
        "workflow": "answer",
        "kind": "llm",
        "name": "generate",
        "started_at": started_at,
        "duration_ms": 100,
        "status": status,
        "llm": {**llm, "usage": usage},
    }


DAY = "2026-11-20T12:00:00.000Z"
SPANS = [
    # cached input: 2000 uncached x 2.5 + 8000 cache reads x 1.25 + 500 x 10
    llm_span("cached_input", "openai", "gpt-4o-2024-08-06", DAY,
             input_tokens=10000, cache_read_input_tokens=8000, output_tokens=500),
    # cache writes: 2000 x 3 + 10000 reads x 0.3 + 12000 5-minute writes x 3.75 + 6000 1-hour writes x 6 + 1000 x 15
    llm_span("cache_writes", "anthropic", SONNET, DAY,
             input_tokens=30000, cache_read_input_tokens=10000, cache_creation_input_tokens=18000,
             cache_creation_1h_input_tokens=6000, output_tokens=1000),
    # reasoning at its own rate: 4000 x 0.15 + 500 x 0.6 + 2500 reasoning x 3.5 (a Gemini resource name)
    llm_span("reasoning", "google", "models/gemini-2.5-flash-preview-04-17", DAY,
             input_tokens=4000, output_tokens=3000, reasoning_tokens=2500),
    # reasoning without a rate of its own is output: 1000 x 2 + 500 x 8 + 1500 reasoning x 8 (o3's dated id)
    llm_span("reasoning_as_output", "openai", "o3-2025-04-16", DAY,
             input_tokens=1000, output_tokens=2000, reasoning_tokens=1500),
    # long context: the tier applies strictly above 200000 input tokens, cache reads included
    llm_span("long_context_at_threshold", "anthropic", SONNET, DAY, input_tokens=200000, output_tokens=1000),
    llm_span("long_context_above", "anthropic", SONNET, DAY, input_tokens=200001, output_tokens=1000),
    llm_span("long_context_by_cache", "anthropic", "claude-sonnet-4-5", DAY,
             input_tokens=200001, cache_read_input_tokens=150000),
    # service tiers: batch and priority rates; flex has none here, so the standard rate (flagged)
    llm_span("batch", "anthropic", SONNET, DAY, service_tier="batch", input_tokens=10000, output_tokens=2000),
    llm_span("priority", "openai", "gpt-4o-2024-08-06", DAY, service_tier="priority",
             input_tokens=10000, cache_read_input_tokens=2000, output_tokens=1000),
    llm_span("flex", "openai", "gpt-4o-2024-08-06", DAY, service_tier="flex", input_tokens=10000, output_tokens=1000),
    # the o3 price change at 2026-11-20 00:00:00 UTC, a millisecond either side of it and on it
    llm_span("before_price_change", "openai", "o3", "2026-11-19T23:59:59.999Z", input_tokens=1000, output_tokens=1000),
    llm_span("at_price_change", "openai", "o3", "2026-11-20T00:00:00.000Z", input_tokens=1000, output_tokens=1000),
    llm_span("after_price_change", "openai", "o3", "2026-11-20T00:00:00.001Z", input_tokens=1000, output_tokens=1000),
    # a fine-tune without a price
    llm_span("unknown_model", "openai", FINE_TUNE, DAY, input_tokens=1000, output_tokens=100),
    # DeepSeek reports its own cost, before the negotiated override starts; then one under the override
    llm_span("provider_reported", "deepseek", "deepseek-chat", DAY, provider_reported_cost_usd=0.000333,
             input_tokens=1000, cache_read_input_tokens=600, output_tokens=300),
    llm_span("override_in_effect", "deepseek", "deepseek-chat", "2026-11-21T10:00:00.000Z",
             input_tokens=1000, cache_read_input_tokens=600, output_tokens=300),
    llm_span("zero_rated", "self_hosted", "llama-3.1-8b-instruct", DAY, input_tokens=5000, output_tokens=500),
    # failover: Bedrock (regional id) times out after billing 3000 input tokens, OpenAI answers 429 without
    # usage, Anthropic answers
    llm_span("failed_attempt", "bedrock", "us.anthropic.claude-3-5-haiku-20241022-v1:0", DAY,
             trace_id="trc_failover", attempt=1, status="error", error_type="timeout",
             input_tokens=3000, cache_creation_input_tokens=1000),
    llm_span("failed_without_usage", "openai", "gpt-4o-2024-08-06", "2026-11-20T12:00:01.000Z",
             trace_id="trc_failover", attempt=2, status="error", error_type="rate_limited"),
    llm_span("failover_answer", "anthropic", SONNET, "2026-11-20T12:00:02.000Z",
             trace_id="trc_failover", attempt=3, input_tokens=3000, output_tokens=500),
    # time of day, judged on started_at in UTC: off-peak until 00:30:00 (excluded) and from 16:30:00 on
    llm_span("before_peak", "deepseek", "deepseek-reasoner", "2026-11-20T00:29:59.999Z",
             input_tokens=2000, cache_read_input_tokens=1000, output_tokens=1000, reasoning_tokens=600),
    llm_span("peak_starts", "deepseek", "deepseek-reasoner", "2026-11-20T00:30:00.000Z",
             input_tokens=2000, cache_read_input_tokens=1000, output_tokens=1000, reasoning_tokens=600),
    llm_span("peak_ends", "deepseek", "deepseek-reasoner", "2026-11-20T16:29:59.999Z",
             input_tokens=2000, cache_read_input_tokens=1000, output_tokens=1000, reasoning_tokens=600),
    llm_span("off_peak", "deepseek", "deepseek-reasoner", "2026-11-20T16:30:00.000Z",
             input_tokens=2000, cache_read_input_tokens=1000, output_tokens=1000, reasoning_tokens=600),
    # the request fee is charged once per call, on top of the tokens
    llm_span("request_fee", "perplexity", "sonar", DAY, input_tokens=1000, output_tokens=500),
    llm_span("embedding_openai", "openai", "text-embedding-3-small", DAY, input_tokens=10000),
    llm_span("embedding_cohere", "cohere", "embed-v4.0", DAY, input_tokens=5000),
    llm_span("together", "together_ai", "meta-llama/Llama-3.3-70B-Instruct-Turbo", DAY,
             input_tokens=1000, output_tokens=1000),
    # the same provider under genai-prices' id for it (provider_aliases: together -> together_ai)
    llm_span("together_by_alias", "together", "meta-llama/Llama-3.3-70B-Instruct-Turbo", DAY,
             input_tokens=1000, output_tokens=1000),
]  # fmt: skip

COST_COLUMNS = [
    "cost_status",
    "price_id",
    "input_cost_usd",
    "cache_read_cost_usd",
    "cache_write_cost_usd",
    "output_cost_usd",
    "reasoning_cost_usd",
    "request_cost_usd",
    "computed_cost_usd",
    "cost_usd",
]


def costs(status: str, price_id: str | None, *amounts: str | None, request: str = "0") -> dict:
    """Expected cost columns: the five token buckets, computed and cost of record (None for NULL); the request
    fee is 0 unless given (NULL without a price)."""
    buckets, totals = amounts[:5], amounts[5:]
    fee = None if price_id is None else request
    values = [None if amount is None else Decimal(amount) for amount in [*buckets, fee, *totals]]
    return dict(zip(COST_COLUMNS, [status, price_id, *values], strict=True))


def write_landing(root: Path) -> Path:
    traces = root / "landing" / "traces"
    traces.mkdir(parents=True)
    (traces / "spans.jsonl").write_text("".join(json.dumps(span) + "\n" for span in SPANS), encoding="utf-8")
    return root / "landing"


def ledger_state(workspace) -> dict[str, Any]:
    """Everything the tests read, captured so that later builds cannot change what an earlier test sees."""
    return {
        "calls": {row["span_id"]: row for row in workspace.query("select * from marts.fct_llm_calls")},
        "traces": {row["trace_id"]: row for row in workspace.query("select * from marts.fct_traces")},
        "llm_steps": {
            row["span_id"]: (row["cost_status"], row["price_id"], row["cost_usd"])
            for row in workspace.query("select * from marts.fct_trace_steps where kind = 'llm'")
        },
        "pending": workspace.query("select * from marts.pending_llm_calls order by provider, model"),
        "wasted": workspace.query("select * from marts.agg_provider_wasted_daily order by provider, activity_date"),
        "disagreements": workspace.query(
            "select * from marts.pricing_source_disagreements order by provider, model, disagreement"
        ),
    }


@pytest.fixture(scope="module")
def workspace(new_workspace, tmp_path_factory):
    workspace = new_workspace()
    workspace.write_seed("provider_prices", PROVIDER_PRICES)
    workspace.write_seed("model_match_rules", MATCH_RULES)
    workspace.write_seed("price_overrides", PRICE_OVERRIDES)
    workspace.write_seed("price_map_disagreements", DISAGREEMENTS)
    workspace.load(write_landing(tmp_path_factory.mktemp("ledger")))
    return workspace


@pytest.fixture(scope="module")
def first_build(workspace):
    workspace.dbt("build", *PRICING_SELECTION)
    return ledger_state(workspace)


@pytest.fixture(scope="module")
def after_corrections(workspace, first_build):
    """The operator's edits, then the next daily run (a window without any call)."""
    prices = {row["price_id"]: row for row in workspace.seed_rows("provider_prices")}
    # a corrected rate: Sonnet's batch input was 1.25, not 1.5
    prices[f"anthropic:{SONNET}:batch:0:1970-01-01"]["input_usd_per_mtok"] = "1.25"
    # a corrected validity: the o3 price cut took effect a day later, on 2026-11-21
    prices["openai:o3:default:0:1970-01-01"]["valid_to"] = "2026-11-21"
    cut = prices.pop("openai:o3:default:0:2026-11-20")
    prices["openai:o3:default:0:2026-11-21"] = {**cut, "price_id": "openai:o3:default:0:2026-11-21"} | {
        "valid_from": "2026-11-21"
    }
    workspace.write_seed("provider_prices", list(prices.values()))
    # the fine-tune gets its price
    workspace.add_price(**override("openai", FINE_TUNE, "3.75/-/-/-/15/-", valid_from="2026-11-01"))
    # mark every stored call: a call the run rebuilds gets its workflow back, one it leaves keeps the mark
    workspace.query(f"update marts.fct_llm_calls set workflow = '{NOT_REBUILT}'")

    workspace.dbt("build", *PRICING_SELECTION, window=NEXT_DAY_WINDOW)
    return ledger_state(workspace)


def call_costs(state: dict, span_id: str) -> dict:
    return {column: state["calls"][span_id][column] for column in COST_COLUMNS}


def test_cached_input_is_billed_at_the_cache_read_rate(first_build):
    assert call_costs(first_build, "cached_input") == costs(
        "priced", "openai:gpt-4o-2024-08-06:default:0:1970-01-01", "0.005", "0.01", "0", "0.005", "0", "0.02", "0.02"
    )


def test_cache_writes_at_their_5_minute_and_1_hour_rates(first_build):
    # 12000 x 3.75 + 6000 x 6 = 0.045 + 0.036
    assert call_costs(first_build, "cache_writes") == costs(
        "priced", f"anthropic:{SONNET}:default:0:1970-01-01", "0.006", "0.003", "0.081", "0.015", "0", "0.105", "0.105"
    )


def test_reasoning_at_its_own_rate_else_as_output(first_build):
    assert call_costs(first_build, "reasoning") == costs(
        "priced",
        "google:gemini-2.5-flash-preview-04-17:default:0:1970-01-01",
        "0.0006",
        "0",
        "0",
        "0.0003",
        "0.00875",
        "0.00965",
        "0.00965",
    )
    assert call_costs(first_build, "reasoning_as_output") == costs(
        "priced", "openai:o3:default:0:2026-11-20", "0.002", "0", "0", "0.004", "0.012", "0.018", "0.018"
    )


def test_long_context_rates_apply_to_the_whole_request_strictly_above_the_threshold(first_build):
    # exactly 200000 input tokens: the base rate, 200000 x 3 + 1000 x 15
    assert call_costs(first_build, "long_context_at_threshold") == costs(
        "priced", f"anthropic:{SONNET}:default:0:1970-01-01", "0.6", "0", "0", "0.015", "0", "0.615", "0.615"
    )
    # one more: every token at the long-context rate, 200001 x 6 + 1000 x 22.5
    assert call_costs(first_build, "long_context_above") == costs(
        "priced",
        f"anthropic:{SONNET}:default:200000:1970-01-01",
        "1.200006",
        "0",
        "0",
        "0.0225",
        "0",
        "1.222506",
        "1.222506",
    )
    # cache reads count toward the threshold and are billed at the tier's cache rate: 50001 x 6 + 150000 x 0.6
    assert call_costs(first_build, "long_context_by_cache") == costs(
        "priced",
        f"anthropic:{SONNET}:default:200000:1970-01-01",
        "0.300006",
        "0.09",
        "0",
        "0",
        "0",
        "0.390006",
        "0.390006",
    )


def test_batch_and_priority_rates_and_the_standard_rate_for_a_tier_without_prices(first_build):
    assert call_costs(first_build, "batch") == costs(
        "priced", f"anthropic:{SONNET}:batch:0:1970-01-01", "0.015", "0", "0", "0.015", "0", "0.03", "0.03"
    )
    # 8000 x 4.25 + 2000 cache reads x 2.125 + 1000 x 17
    assert call_costs(first_build, "priority") == costs(
        "priced", "openai:gpt-4o-2024-08-06:priority:0:1970-01-01", "0.034", "0.00425", "0", "0.017", "0", "0.05525",
        "0.05525",
    )  # fmt: skip
    # no flex price: 10000 x 2.5 + 1000 x 10 at the standard rate, and the ledger says so
    assert call_costs(first_build, "flex") == costs(
        "priced", "openai:gpt-4o-2024-08-06:default:0:1970-01-01", "0.025", "0", "0", "0.01", "0", "0.035", "0.035"
    )
    fallbacks = {span: call["service_tier_fallback"] for span, call in first_build["calls"].items()}
    assert {span for span, fell_back in fallbacks.items() if fell_back} == {"flex"}
    assert fallbacks["batch"] is False and fallbacks["priority"] is False and fallbacks["cached_input"] is False


def test_a_dated_price_change_applies_from_midnight_utc_of_its_start_day(first_build):
    # 1000 x 10 + 1000 x 40 until 2026-11-20 00:00:00 (excluded), 1000 x 2 + 1000 x 8 from then on
    old = costs("priced", "openai:o3:default:0:1970-01-01", "0.01", "0", "0", "0.04", "0", "0.05", "0.05")
    new = costs("priced", "openai:o3:default:0:2026-11-20", "0.002", "0", "0", "0.008", "0", "0.01", "0.01")
    assert call_costs(first_build, "before_price_change") == old
    assert call_costs(first_build, "at_price_change") == new
    assert call_costs(first_build, "after_price_change") == new


def test_reported_model_ids_reach_their_priced_model_through_the_match_rules(first_build):
    priced_models = {
        span: (call["model"], call["priced_model"])
        for span, call in first_build["calls"].items()
        if span in {"reasoning", "reasoning_as_output", "long_context_by_cache", "failed_attempt", "unknown_model"}
    }
    assert priced_models == {
        "reasoning": ("models/gemini-2.5-flash-preview-04-17", "gemini-2.5-flash-preview-04-17"),
        "reasoning_as_output": ("o3-2025-04-16", "o3"),
        "long_context_by_cache": ("claude-sonnet-4-5", SONNET),  # a prefix rule
        "failed_attempt": (
            "us.anthropic.claude-3-5-haiku-20241022-v1:0",
            "anthropic.claude-3-5-haiku-20241022-v1:0",
        ),
        "unknown_model": (FINE_TUNE, None),
    }


def test_provider_reported_cost_wins_and_the_computed_price_stays_beside_it(first_build):
    # computed 400 x 0.28 + 600 x 0.028 + 300 x 0.42 = 0.0002548; reported 0.000333
    call = first_build["calls"]["provider_reported"]
    assert {column: call[column] for column in COST_COLUMNS} == costs(
        "provider_reported",
        "deepseek:deepseek-chat:default:0:1970-01-01",
        "0.000112",
        "0.0000168",
        "0",
        "0.000126",
        "0",
        "0.0002548",
        "0.000333",
    )
    assert call["provider_reported_cost_usd"] == Decimal("0.000333")
    assert call["reported_minus_computed_cost_usd"] == Decimal("0.0000782")
    assert call["cost_discrepancy_usd"] == Decimal("0.0000782")
    assert {span for span, c in first_build["calls"].items() if c["cost_discrepancy_usd"] is not None} == {
        "provider_reported"
    }


def test_an_override_wins_inside_its_validity_and_zero_rates_only_explicitly(first_build):
    # the negotiated DeepSeek rate from 2026-11-21: 400 x 0.2 + 600 x 0.02 + 300 x 0.3
    assert call_costs(first_build, "override_in_effect") == costs(
        "priced",
        "override:deepseek:deepseek-chat:default:0:2026-11-21",
        "0.00008",
        "0.000012",
        "0",
        "0.00009",
        "0",
        "0.000182",
        "0.000182",
    )
    assert call_costs(first_build, "zero_rated") == costs(
        "zero_rated", "override:self_hosted:llama-3.1-8b-instruct:default:0:1970-01-01", *["0"] * 7
    )
    # a call that costs nothing at a list price is priced, not zero-rated
    assert call_costs(first_build, "failed_without_usage") == costs(
        "priced", "openai:gpt-4o-2024-08-06:default:0:1970-01-01", *["0"] * 7
    )
    statuses = {span: call["cost_status"] for span, call in first_build["calls"].items()}
    assert [span for span, status in statuses.items() if status == "zero_rated"] == ["zero_rated"]


def test_time_of_day_prices_follow_the_calls_utc_time(first_build):
    # 1000 uncached + 1000 cache reads + 400 output + 600 reasoning (reasoning at the output rate)
    off_peak = ("0.000275", "0.00007", "0", "0.000438", "0.000657", "0.00144", "0.00144")
    peak = ("0.00055", "0.00014", "0", "0.000876", "0.001314", "0.00288", "0.00288")
    prefix = "deepseek:deepseek-reasoner:default:0:1970-01-01@"
    assert call_costs(first_build, "before_peak") == costs("priced", prefix + "00:00:00", *off_peak)
    assert call_costs(first_build, "peak_starts") == costs("priced", prefix + "00:30:00", *peak)
    assert call_costs(first_build, "peak_ends") == costs("priced", prefix + "00:30:00", *peak)
    assert call_costs(first_build, "off_peak") == costs("priced", prefix + "16:30:00", *off_peak)


def test_a_fee_per_request_is_a_component_of_its_own(first_build):
    # 1000 x 1 + 500 x 1 per million, plus 12 / 1000 per request
    assert call_costs(first_build, "request_fee") == costs(
        "priced", "perplexity:sonar:default:0:1970-01-01", "0.001", "0", "0", "0.0005", "0", "0.0135", "0.0135",
        request="0.012",
    )  # fmt: skip


def test_embedding_calls_of_two_providers_cost_their_input(first_build):
    # 10000 x 0.02 and 5000 x 0.12 per million; no output
    assert call_costs(first_build, "embedding_openai") == costs(
        "priced", "openai:text-embedding-3-small:default:0:1970-01-01", "0.0002", "0", "0", "0", "0", "0.0002",
        "0.0002",
    )  # fmt: skip
    assert call_costs(first_build, "embedding_cohere") == costs(
        "priced", "cohere:embed-v4.0:default:0:1970-01-01", "0.0006", "0", "0", "0", "0", "0.0006", "0.0006"
    )


def test_a_provider_beyond_the_first_eleven_is_priced_under_either_maps_id_for_it(first_build):
    # 1000 x 0.88 + 1000 x 0.88 per million
    expected = costs(
        "priced", "together_ai:meta-llama/Llama-3.3-70B-Instruct-Turbo:default:0:1970-01-01", "0.00088", "0", "0",
        "0.00088", "0", "0.00176", "0.00176",
    )  # fmt: skip
    assert call_costs(first_build, "together") == expected
    assert call_costs(first_build, "together_by_alias") == expected
    # the ledger keeps the provider as reported
    assert first_build["calls"]["together_by_alias"]["provider"] == "together"


def test_a_failed_attempt_with_usage_is_priced_and_counted_as_wasted(first_build):
    # 2000 uncached x 0.8 + 1000 5-minute writes x 1
    assert call_costs(first_build, "failed_attempt") == costs(
        "priced",
        "bedrock:anthropic.claude-3-5-haiku-20241022-v1:0:default:0:1970-01-01",
        "0.0016",
        "0",
        "0.001",
        "0",
        "0",
        "0.0026",
        "0.0026",
    )
    trace = first_build["traces"]["trc_failover"]
    # 0.0026 wasted + 0 (the 429) + 3000 x 3 + 500 x 15 for the answer
    assert (trace["llm_attempts"], trace["failed_llm_attempts"], trace["cost_usd"], trace["wasted_cost_usd"]) == (
        3,
        2,
        Decimal("0.0191"),
        Decimal("0.0026"),
    )
    wasted = {
        (row["provider"], str(row["activity_date"])): (
            row["llm_calls"],
            row["failed_attempts"],
            row["failed_attempts_with_usage"],
            row["wasted_input_tokens"],
            row["wasted_cost_usd"],
        )
        for row in first_build["wasted"]
        if row["failed_attempts"]
    }
    assert wasted == {
        ("bedrock", "2026-11-20"): (1, 1, 1, 3000, Decimal("0.0026")),
        ("openai", "2026-11-20"): (9, 1, 0, 0, Decimal("0")),
    }


def test_pending_calls_are_listed_by_model_with_their_age(first_build):
    (pending,) = first_build["pending"]
    age_hours = int((pending["built_at"] - datetime(2026, 11, 20, 12)).total_seconds() // 3600)
    assert pending == {
        "provider": "openai",
        "model": FINE_TUNE,
        "priced_model": None,
        "pending_reason": "unknown_model",
        "pending_calls": 1,
        "organizations": 1,
        "input_tokens": 1000,
        "uncached_input_tokens": 1000,
        "cache_read_tokens": 0,
        "cache_write_tokens": 0,
        "output_tokens": 100,
        "reasoning_tokens": 0,
        "oldest_started_at": datetime(2026, 11, 20, 12),
        "newest_started_at": datetime(2026, 11, 20, 12),
        "built_at": pending["built_at"],
        "oldest_pending_age_hours": age_hours,
        "newest_pending_age_hours": age_hours,
    }
    assert call_costs(first_build, "unknown_model") == costs("pending", None, *[None] * 7)


def test_source_disagreements_show_what_the_ledger_prices_with_the_model(first_build):
    rows = [
        (row["provider"], row["model"], row["disagreement"], row["has_price_override"], row["ledger_calls"],
         row["ledger_computed_cost_usd"])
        for row in first_build["disagreements"]
    ]  # fmt: skip
    assert rows == [
        # every Sonnet call: cache_writes 0.105, long context 0.615 + 1.222506 + 0.390006, batch 0.03,
        # failover_answer 0.0165
        ("anthropic", SONNET, "price_differs", False, 6, Decimal("2.379012")),
        # reasoning_as_output 0.018, before/at/after the price change 0.05 + 0.01 + 0.01
        ("openai", "o3", "missing_in_langfuse", False, 4, Decimal("0.088")),
    ]


def test_a_price_added_for_a_pending_model_prices_it_on_the_next_normal_run(after_corrections):
    # 1000 x 3.75 + 100 x 15, although the run's window holds no call at all
    assert call_costs(after_corrections, "unknown_model") == costs(
        "priced",
        f"override:openai:{FINE_TUNE}:default:0:2026-11-01",
        "0.00375",
        "0",
        "0",
        "0.0015",
        "0",
        "0.00525",
        "0.00525",
    )
    assert after_corrections["pending"] == []
    trace = after_corrections["traces"]["trc_unknown_model"]
    assert (trace["pending_calls"], trace["cost_usd"]) == (0, Decimal("0.00525"))


def test_price_corrections_reprice_exactly_the_calls_they_affect(first_build, after_corrections):
    before, after = first_build["calls"], after_corrections["calls"]
    assert before.keys() == after.keys()
    # rebuilt: every call of a reported model whose price list was edited (Sonnet's batch row, o3's validity,
    # the fine-tune's new price), whatever its day, and nothing else
    rebuilt = {span for span, call in after.items() if call["workflow"] != NOT_REBUILT}
    assert rebuilt == {
        "cache_writes", "long_context_at_threshold", "long_context_above", "long_context_by_cache", "batch",
        "failover_answer", "reasoning_as_output", "before_price_change", "at_price_change", "after_price_change",
        "unknown_model",
    }  # fmt: skip
    # of those, the cost changed exactly where the edited rows apply
    changed = {span for span in before if call_costs(first_build, span) != call_costs(after_corrections, span)}
    assert changed == {"batch", "at_price_change", "after_price_change", "reasoning_as_output", "unknown_model"}

    # the batch correction: 10000 x 1.25 + 2000 x 7.5
    assert call_costs(after_corrections, "batch") == costs(
        "priced", f"anthropic:{SONNET}:batch:0:1970-01-01", "0.0125", "0", "0", "0.015", "0", "0.0275", "0.0275"
    )
    # the price cut moved to 2026-11-21: every o3 call of 2026-11-20 is back on the old price
    old = costs("priced", "openai:o3:default:0:1970-01-01", "0.01", "0", "0", "0.04", "0", "0.05", "0.05")
    assert call_costs(after_corrections, "at_price_change") == old
    assert call_costs(after_corrections, "after_price_change") == old
    assert call_costs(after_corrections, "reasoning_as_output") == costs(
        "priced", "openai:o3:default:0:1970-01-01", "0.01", "0", "0", "0.02", "0.06", "0.09", "0.09"
    )
    # the calls left alone are as they were, column for column
    assert all(after[span] == before[span] | {"workflow": NOT_REBUILT} for span in before.keys() - rebuilt)
    # the traces follow the ledger, whatever day their calls were on
    assert after_corrections["traces"]["trc_batch"]["cost_usd"] == Decimal("0.0275")
    assert after_corrections["traces"]["trc_at_price_change"]["cost_usd"] == Decimal("0.05")
    assert after_corrections["traces"]["trc_failover"] == first_build["traces"]["trc_failover"]
    # and so do the steps of every trace, priced late or re-priced
    for state in (first_build, after_corrections):
        ledger = {
            span: (call["cost_status"], call["price_id"], call["cost_usd"]) for span, call in state["calls"].items()
        }
        assert state["llm_steps"] == ledger
    assert after_corrections["llm_steps"]["batch"] == (
        "priced",
        f"anthropic:{SONNET}:batch:0:1970-01-01",
        Decimal("0.0275"),
    )
