"""Reading each price map, on tiny crafted maps whose expected rows are worked out by hand."""

from __future__ import annotations

from decimal import Decimal

import pytest

from pricing.rates import format_rate, to_rate


def genai_model(model_id: str, match: dict, prices) -> dict:
    return {"id": model_id, "match": match, "prices": prices}


def genai_provider(provider_id: str, *models: dict) -> dict:
    return {"id": provider_id, "name": provider_id, "api_pattern": "", "models": list(models)}


def litellm_chat(provider: str, **costs) -> dict:
    return {"litellm_provider": provider, "mode": "chat", **costs}


def cells(row: dict[str, str]) -> tuple[str, ...]:
    return tuple(
        row[f"{usage}_usd_per_mtok"]
        for usage in ("input", "cache_read", "cache_write_5m", "cache_write_1h", "output", "reasoning")
    )


@pytest.mark.parametrize(
    ("per_token", "expected"),
    [
        (Decimal("2.5e-06"), "2.5"),
        (Decimal("1e-05"), "10"),
        (Decimal("2.9999900000000002e-06"), "2.99999"),  # binary-float noise in the map
        (Decimal("4.285999999999999e-06"), "4.286"),
        (Decimal("1.25e-08"), "0.0125"),
        (Decimal("0.0"), "0"),
    ],
)
def test_per_token_prices_become_plain_per_million_decimals(per_token, expected):
    assert format_rate(to_rate(per_token, 1)) == expected


def test_per_million_prices_keep_their_digits():
    assert format_rate(to_rate(Decimal("3.4375"), 1_000_000)) == "3.4375"
    assert format_rate(None) == ""


def test_genai_prices_dated_versions_follow_its_last_active_entry_rule(build_crafted):
    # genai-prices uses the last entry whose start_date has passed: listed after the 2025-01-01 entry,
    # the 2026-03-01 entry never wins, so the model has two windows, not three.
    prices = [
        {"prices": {"input_mtok": 1, "output_mtok": 2}},
        {"constraint": {"start_date": "2026-03-01"}, "prices": {"input_mtok": 9, "output_mtok": 9}},
        {"constraint": {"start_date": "2025-01-01"}, "prices": {"input_mtok": 3, "output_mtok": 4}},
    ]
    genai = [genai_provider("openai", genai_model("gpt-x", {"equals": "gpt-x"}, prices))]
    rows = build_crafted(genai=genai).prices
    assert set(rows) == {"openai:gpt-x:default:0:1970-01-01", "openai:gpt-x:default:0:2025-01-01"}
    first, second = rows["openai:gpt-x:default:0:1970-01-01"], rows["openai:gpt-x:default:0:2025-01-01"]
    assert (first["valid_to"], cells(first)) == ("2025-01-01", ("1", "", "", "", "2", ""))
    assert (second["valid_to"], cells(second)) == ("", ("3", "", "", "", "4", ""))


def test_genai_prices_tiers_become_whole_request_rows(build_crafted):
    prices = {
        "input_mtok": {"base": 2, "tiers": [{"start": 128000, "price": 4}, {"start": 200000, "price": 5}]},
        "cache_read_mtok": 0.2,
        "output_mtok": {"base": 8, "tiers": [{"start": 200000, "price": 12}]},
    }
    genai = [genai_provider("google", genai_model("gemini-x", {"starts_with": "gemini-x"}, prices))]
    rows = build_crafted(genai=genai).prices
    # Google's entry prices both the Gemini API and Vertex AI
    for provider in ("google", "vertex_ai"):
        assert cells(rows[f"{provider}:gemini-x:default:0:1970-01-01"]) == ("2", "0.2", "", "", "8", "")
        # above 128k only input has a tier: the other usage types keep their base rate in that row
        assert cells(rows[f"{provider}:gemini-x:default:128000:1970-01-01"]) == ("4", "0.2", "", "", "8", "")
        assert cells(rows[f"{provider}:gemini-x:default:200000:1970-01-01"]) == ("5", "0.2", "", "", "12", "")


def test_time_of_day_prices_become_windows_of_the_utc_day(build_crafted):
    # genai-prices' DeepSeek: the first entry applies unless a later one is active, here 00:30 to 16:30 UTC
    prices = [
        {"prices": {"input_mtok": 0.1, "output_mtok": 0.2}},
        {
            "constraint": {"start_time": "00:30:00Z", "end_time": "16:30:00Z"},
            "prices": {"input_mtok": 1, "output_mtok": 2},
        },
    ]
    genai = [genai_provider("deepseek", genai_model("deepseek-x", {"equals": "deepseek-x"}, prices))]
    litellm = {"deepseek/deepseek-x": litellm_chat("deepseek", input_cost_per_token=3e-07, output_cost_per_token=4e-07)}
    built = build_crafted(genai=genai, litellm=litellm)
    windows = {
        pid: (row["valid_to"], row["utc_time_from"], row["utc_time_to"], cells(row)[0], cells(row)[4], row["source"])
        for pid, row in built.prices.items()
    }
    assert windows == {
        "deepseek:deepseek-x:default:0:1970-01-01@00:00:00": ("", "00:00:00", "00:30:00", "0.1", "0.2", "genai-prices"),
        "deepseek:deepseek-x:default:0:1970-01-01@00:30:00": ("", "00:30:00", "16:30:00", "1", "2", "genai-prices"),
        "deepseek:deepseek-x:default:0:1970-01-01@16:30:00": ("", "16:30:00", "", "0.1", "0.2", "genai-prices"),
    }
    # compared at its standard (longest) window: LiteLLM's 0.3 / 0.4 differ from 1 / 2
    assert {(row["usage_type"], row["disagreement"]) for row in built.disagreements} == {
        ("input", "price_differs"),
        ("output", "price_differs"),
    }


def test_time_of_day_and_dated_prices_combine(build_crafted):
    # from 2026-01-01 the off-peak price changes; the peak price never does, so its window stays one row
    prices = [
        {"prices": {"input_mtok": 0.1, "output_mtok": 0.2}},
        {"constraint": {"start_date": "2026-01-01"}, "prices": {"input_mtok": 0.3, "output_mtok": 0.4}},
        {
            "constraint": {"start_time": "08:00:00Z", "end_time": "20:00:00Z"},
            "prices": {"input_mtok": 1, "output_mtok": 2},
        },
    ]
    genai = [genai_provider("deepseek", genai_model("deepseek-x", {"equals": "deepseek-x"}, prices))]
    rows = build_crafted(genai=genai).prices
    assert {
        pid: (row["valid_from"], row["valid_to"], row["utc_time_from"], row["utc_time_to"], cells(row)[0])
        for pid, row in rows.items()
    } == {
        "deepseek:deepseek-x:default:0:1970-01-01@00:00:00": (
            "1970-01-01",
            "2026-01-01",
            "00:00:00",
            "08:00:00",
            "0.1",
        ),
        "deepseek:deepseek-x:default:0:1970-01-01@08:00:00": ("1970-01-01", "", "08:00:00", "20:00:00", "1"),
        "deepseek:deepseek-x:default:0:1970-01-01@20:00:00": ("1970-01-01", "2026-01-01", "20:00:00", "", "0.1"),
        "deepseek:deepseek-x:default:0:2026-01-01@00:00:00": ("2026-01-01", "", "00:00:00", "08:00:00", "0.3"),
        "deepseek:deepseek-x:default:0:2026-01-01@20:00:00": ("2026-01-01", "", "20:00:00", "", "0.3"),
    }


def test_request_fees_reasoning_rates_embeddings_and_free_models(build_crafted):
    genai = [
        genai_provider(
            "perplexity",
            genai_model("sonar-x", {"equals": "sonar-x"}, {"input_mtok": 1, "output_mtok": 1, "requests_kcount": 12}),
            genai_model(
                "sonar-r", {"equals": "sonar-r"}, {"input_mtok": 2, "output_mtok": 8, "output_reasoning_mtok": 3}
            ),
        ),
        genai_provider("voyageai", genai_model("voyage-x", {"equals": "voyage-x"}, {"input_mtok": 0.06})),
        genai_provider("openrouter", genai_model("llama-x:free", {"equals": "llama-x:free"}, {})),
    ]
    litellm = {
        # LiteLLM's fee per request is USD per request: 0.005 is 5 per thousand
        "perplexity/pplx-online": litellm_chat(
            "perplexity", input_cost_per_token=0, output_cost_per_token=2.8e-06, input_cost_per_request=0.005
        ),
        # an embedding without an output price: output is free
        "mistral/mistral-embed-x": {"litellm_provider": "mistral", "mode": "embedding", "input_cost_per_token": 1e-07},
    }
    rows = build_crafted(genai=genai, litellm=litellm).prices

    def seen(pid: str) -> tuple:
        row = rows[pid]
        return row["mode"], *cells(row), row["request_usd_per_thousand"]

    assert seen("perplexity:sonar-x:default:0:1970-01-01") == ("chat", "1", "", "", "", "1", "", "12")
    assert seen("perplexity:sonar-r:default:0:1970-01-01") == ("chat", "2", "", "", "", "8", "3", "")
    assert seen("perplexity:pplx-online:default:0:1970-01-01") == ("chat", "0", "", "", "", "2.8", "", "5")
    # genai-prices' own names map onto the platform's (voyageai -> voyage); no output price = an embedding
    assert seen("voyage:voyage-x:default:0:1970-01-01") == ("embedding", "0.06", "", "", "", "0", "", "")
    assert seen("mistral:mistral-embed-x:default:0:1970-01-01") == ("embedding", "0.1", "", "", "", "0", "", "")
    # genai-prices prices a free model with no prices at all: 0 in and out
    assert seen("openrouter:llama-x:free:default:0:1970-01-01") == ("chat", "0", "", "", "", "0", "", "")


def test_components_the_contract_cannot_carry_keep_a_model_out_or_go_uncharged(build_crafted):
    genai = [
        genai_provider(
            "openai",
            # audio output on every call: out, so its calls stay pending rather than under-priced
            genai_model(
                "gpt-audio-x", {"equals": "gpt-audio-x"}, {"input_mtok": 2, "output_mtok": 8, "output_audio_mtok": 80}
            ),
            # audio input is optional: the text rates stay, the audio rate is listed as not charged
            genai_model("gpt-x", {"equals": "gpt-x"}, {"input_mtok": 1, "output_mtok": 2, "input_audio_mtok": 3}),
        ),
    ]
    litellm = {
        # Perplexity searches on every request, priced by a context size the contract does not carry
        "perplexity/sonar-y": litellm_chat(
            "perplexity", input_cost_per_token=1e-06, output_cost_per_token=1e-06,
            search_context_cost_per_query={"search_context_size_low": 0.005},
        ),
        # elsewhere the same field is an optional web-search tool
        "claude-y": litellm_chat(
            "anthropic", input_cost_per_token=3e-06, output_cost_per_token=1.5e-05,
            search_context_cost_per_query={"search_context_size_low": 0.01},
        ),
        "dall-e-x": {"litellm_provider": "openai", "mode": "image_generation", "output_cost_per_image": 0.04},
    }  # fmt: skip
    built = build_crafted(genai=genai, litellm=litellm)
    assert {(row["provider"], row["model"]) for row in built.prices.values()} == {
        ("openai", "gpt-x"),
        ("anthropic", "claude-y"),
    }
    assert built.gaps == {
        ("genai-prices", "gpt-audio-x"): [
            ("not_seeded", "prices audio output tokens, which the contract does not carry")
        ],
        ("genai-prices", "gpt-x"): [
            (
                "component_not_charged",
                "audio input tokens: the contract counts them in input_tokens, at the text rate",
            )
        ],
        ("litellm", "perplexity/sonar-y"): [
            ("not_seeded", "a search fee on every request, by a search context size the contract does not carry")
        ],
        ("litellm", "claude-y"): [
            ("component_not_charged", "web-search tool fees: the contract carries no search count")
        ],
        ("litellm", "dall-e-x"): [
            ("not_seeded", "mode image_generation: not priced per text token (output_cost_per_image)")
        ],
    }


def test_litellm_field_names_give_service_tiers_thresholds_and_cache_kinds(build_crafted):
    litellm = {
        "claude-x": litellm_chat(
            "anthropic",
            input_cost_per_token=3e-06,
            output_cost_per_token=1.5e-05,
            cache_read_input_token_cost=3e-07,
            cache_creation_input_token_cost=3.75e-06,
            cache_creation_input_token_cost_above_1hr=6e-06,
            input_cost_per_token_above_200k_tokens=6e-06,
            output_cost_per_token_above_200k_tokens=2.25e-05,
            input_cost_per_token_batches=1.5e-06,
            output_cost_per_token_batches=7.5e-06,
            input_cost_per_token_priority=5e-06,  # no output rate for priority: not a usable row
            input_cost_per_token_ultrafast=9e-06,  # a tier the seed has no column for
            output_cost_per_reasoning_token=1.5e-05,
        )
    }
    rows = build_crafted(litellm=litellm).prices
    assert set(rows) == {
        "anthropic:claude-x:default:0:1970-01-01",
        "anthropic:claude-x:default:200000:1970-01-01",
        "anthropic:claude-x:batch:0:1970-01-01",
    }
    assert cells(rows["anthropic:claude-x:default:0:1970-01-01"]) == ("3", "0.3", "3.75", "6", "15", "15")
    assert cells(rows["anthropic:claude-x:default:200000:1970-01-01"]) == ("6", "0.3", "3.75", "6", "22.5", "15")
    assert cells(rows["anthropic:claude-x:batch:0:1970-01-01"]) == ("1.5", "", "", "", "7.5", "")


def test_litellm_keys_map_to_platform_providers_and_model_ids(build_crafted):
    litellm = {
        "gemini/gemini-x": litellm_chat("gemini", input_cost_per_token=1e-06, output_cost_per_token=2e-06),
        "gemini-x": litellm_chat("vertex_ai-language-models", input_cost_per_token=1e-06, output_cost_per_token=3e-06),
        "cohere.command-x": litellm_chat("bedrock_converse", input_cost_per_token=1e-06, output_cost_per_token=2e-06),
        "bedrock/eu-west-3/cohere.command-x": litellm_chat(
            "bedrock", input_cost_per_token=5e-06, output_cost_per_token=5e-06
        ),
        "command-x": litellm_chat("cohere_chat", input_cost_per_token=1e-06, output_cost_per_token=2e-06),
        "xai/grok-x": litellm_chat("xai", input_cost_per_token=1e-06, output_cost_per_token=2e-06),
        # the bare key and the provider-prefixed key name one model: the prefixed key wins
        "deepseek-x": litellm_chat("deepseek", input_cost_per_token=1e-06, output_cost_per_token=2e-06),
        "deepseek/deepseek-x": litellm_chat("deepseek", input_cost_per_token=2e-06, output_cost_per_token=3e-06),
        "ft:gpt-x": litellm_chat("openai", input_cost_per_token=1e-06, output_cost_per_token=2e-06),
        "text-embedding-x": {
            "litellm_provider": "openai",
            "mode": "embedding",
            "input_cost_per_token": 1e-07,
            "output_cost_per_token": 0.0,
        },
        "together_ai/llama-x": litellm_chat("together_ai", input_cost_per_token=1e-06, output_cost_per_token=2e-06),
    }
    built = build_crafted(litellm=litellm)
    rows = built.prices
    assert {(row["provider"], row["model"], row["source_key"]) for row in rows.values()} == {
        ("google", "gemini-x", "gemini/gemini-x"),
        ("vertex_ai", "gemini-x", "gemini-x"),
        ("bedrock", "cohere.command-x", "cohere.command-x"),
        ("cohere", "command-x", "command-x"),
        ("xai", "grok-x", "xai/grok-x"),
        ("deepseek", "deepseek-x", "deepseek/deepseek-x"),
        ("openai", "text-embedding-x", "text-embedding-x"),
        ("together_ai", "llama-x", "together_ai/llama-x"),
    }
    assert cells(rows["deepseek:deepseek-x:default:0:1970-01-01"]) == ("2", "", "", "", "3", "")
    assert built.gaps == {
        ("litellm", "bedrock/eu-west-3/cohere.command-x"): [
            ("not_seeded", "priced for one deployment (a region, commitment term or route in the key)")
        ],
        ("litellm", "ft:gpt-x"): [("not_seeded", "a fine-tune: its price is the customer's own (price_overrides.csv)")],
    }


def test_zero_only_where_a_map_says_zero(build_crafted):
    litellm = {
        "deepseek/deepseek-x": litellm_chat(
            "deepseek", input_cost_per_token=2.8e-07, output_cost_per_token=4.2e-07, cache_creation_input_token_cost=0.0
        )
    }
    rows = build_crafted(litellm=litellm).prices
    assert cells(rows["deepseek:deepseek-x:default:0:1970-01-01"]) == ("0.28", "", "0", "", "0.42", "")


def test_langfuse_tiers_and_langfuse_only_models(build_crafted):
    def tier(name, conditions, input_per_token, output_per_token, is_default=False):
        return {
            "name": name,
            "isDefault": is_default,
            "priority": 0,
            "conditions": conditions,
            "prices": {
                "input": input_per_token,
                "input_cached_tokens": input_per_token / 10,
                "output": output_per_token,
            },
        }

    service_tier = {"source": "model_parameters", "key": "service_tier", "operator": "in"}
    langfuse = [
        {
            "modelName": "gpt-legacy",
            "matchPattern": "(?i)^(openai/)?(gpt-legacy)$",
            "pricingTiers": [
                tier("Standard", [], 2e-06, 8e-06, is_default=True),
                tier("Fast mode", [{**service_tier, "values": ["fast", "priority"]}], 4e-06, 1.6e-05),
                tier("Flex", [{**service_tier, "values": ["flex"]}], 1e-06, 4e-06),
                tier("Large", [{"usageDetailPattern": "(input)", "operator": "gt", "value": 272000}], 4e-06, 1.2e-05),
                tier(
                    "Speed",
                    [{"source": "model_parameters", "key": "speed", "operator": "in", "values": ["fast"]}],
                    9e-06,
                    9e-06,
                ),
            ],
        }
    ]
    built = build_crafted(langfuse=langfuse)
    rows = built.prices
    assert {pid: (cells(row)[0], cells(row)[4]) for pid, row in rows.items()} == {  # input, output
        "openai:gpt-legacy:default:0:1970-01-01": ("2", "8"),
        "openai:gpt-legacy:default:272000:1970-01-01": ("4", "12"),
        "openai:gpt-legacy:flex:0:1970-01-01": ("1", "4"),
        "openai:gpt-legacy:priority:0:1970-01-01": ("4", "16"),
    }
    assert {row["source"] for row in rows.values()} == {"langfuse"}
    speed = '[{"key": "speed", "operator": "in", "source": "model_parameters", "values": ["fast"]}]'
    assert built.gaps == {
        ("langfuse", "gpt-legacy"): [("component_not_charged", f"a pricing tier the seed cannot express: {speed}")]
    }
    assert built.rules == [
        {
            "provider": "openai",
            "match_type": "exact",
            "pattern": "gpt-legacy",
            "model": "gpt-legacy",
            "rule_source": "langfuse:gpt-legacy",
        }
    ]


def test_a_genai_pattern_that_disagrees_with_litellms_own_entry_yields_to_it(build_crafted):
    genai = [
        genai_provider(
            "anthropic", genai_model("claude-x", {"starts_with": "claude-x"}, {"input_mtok": 5, "output_mtok": 25})
        )
    ]
    litellm = {
        # a newer model caught by the older model's prefix: LiteLLM prices it differently, LiteLLM wins
        "claude-x-5": litellm_chat("anthropic", input_cost_per_token=4e-06, output_cost_per_token=2e-05),
        # a dated variant with the same rates: genai-prices wins (it reaches the id through its pattern)
        "claude-x-20250101": litellm_chat("anthropic", input_cost_per_token=5e-06, output_cost_per_token=2.5e-05),
    }
    rows = build_crafted(genai=genai, litellm=litellm).prices
    assert {pid: (row["source"], cells(row)[0]) for pid, row in rows.items()} == {
        "anthropic:claude-x:default:0:1970-01-01": ("genai-prices", "5"),
        "anthropic:claude-x-20250101:default:0:1970-01-01": ("genai-prices", "5"),
        "anthropic:claude-x-5:default:0:1970-01-01": ("litellm", "4"),
    }
