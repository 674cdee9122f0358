"""Model match rules on crafted maps: ambiguity is an error, derived id forms, and the lookup order."""

from __future__ import annotations

import pytest

from pricing.build import build
from pricing.rules import EXACT, PREFIX, AmbiguousRuleError, MatchRule, resolve, unambiguous


def chat(provider: str, input_per_token: float = 1e-06, output_per_token: float = 2e-06) -> dict:
    return {
        "litellm_provider": provider,
        "mode": "chat",
        "input_cost_per_token": input_per_token,
        "output_cost_per_token": output_per_token,
    }


def genai_openai(*models: dict) -> list[dict]:
    return [{"id": "openai", "name": "OpenAI", "api_pattern": "", "models": list(models)}]


def test_one_pattern_claimed_by_two_models_is_a_build_error(write_reference, tmp_path):
    genai = genai_openai(
        {
            "id": "alpha",
            "match": {"or": [{"equals": "alpha"}, {"starts_with": "shared-"}]},
            "prices": {"input_mtok": 1, "output_mtok": 2},
        },
        {
            "id": "beta",
            "match": {"or": [{"equals": "beta"}, {"starts_with": "shared-"}]},
            "prices": {"input_mtok": 3, "output_mtok": 4},
        },
    )
    with pytest.raises(AmbiguousRuleError) as raised:
        build(write_reference(genai=genai), tmp_path / "out")
    message = str(raised.value)
    assert "openai prefix 'shared-'" in message
    assert "'alpha' (genai-prices:openai/alpha)" in message
    assert "'beta' (genai-prices:openai/beta)" in message
    assert not (tmp_path / "out" / "model_match_rules.csv").exists()


def test_the_same_rule_twice_is_kept_once():
    rule = MatchRule("openai", PREFIX, "gpt-x", "gpt-x", "genai-prices:openai/gpt-x")
    twin = MatchRule("openai", PREFIX, "gpt-x", "GPT-X", "litellm:gpt-x")
    assert list(unambiguous([rule, twin]).values()) == [rule]


def test_generated_rules_for_bedrock_regions_and_gemini_resource_names(build_crafted):
    litellm = {
        "anthropic.claude-a-v1:0": chat("bedrock_converse"),
        "anthropic.claude-b-v1:0": chat("bedrock_converse"),
        # a regional profile with its own (10% higher) price keeps its own model
        "us.anthropic.claude-b-v1:0": chat("bedrock_converse", 1.1e-06, 2.2e-06),
        # no map shows a cross-region profile for meta models, so none is derived for them
        "meta.llama-x-v1:0": chat("bedrock"),
        "gemini/gemini-x": chat("gemini"),
    }
    rules = {
        (r["provider"], r["match_type"], r["pattern"]): (r["model"], r["rule_source"])
        for r in build_crafted(litellm=litellm).rules
    }
    assert rules == {
        ("bedrock", EXACT, "anthropic.claude-a-v1:0"): ("anthropic.claude-a-v1:0", "litellm:anthropic.claude-a-v1:0"),
        ("bedrock", EXACT, "us.anthropic.claude-a-v1:0"): ("anthropic.claude-a-v1:0", "derived:bedrock-region"),
        ("bedrock", EXACT, "anthropic.claude-b-v1:0"): ("anthropic.claude-b-v1:0", "litellm:anthropic.claude-b-v1:0"),
        ("bedrock", EXACT, "us.anthropic.claude-b-v1:0"): (
            "us.anthropic.claude-b-v1:0",
            "litellm:us.anthropic.claude-b-v1:0",
        ),
        ("bedrock", EXACT, "meta.llama-x-v1:0"): ("meta.llama-x-v1:0", "litellm:meta.llama-x-v1:0"),
        ("google", EXACT, "gemini-x"): ("gemini-x", "litellm:gemini/gemini-x"),
        ("google", EXACT, "models/gemini-x"): ("gemini-x", "derived:gemini-resource-name"),
    }


def test_genai_prefix_rules_point_at_their_model_and_fine_tune_clauses_are_left_out(build_crafted):
    genai = genai_openai(
        {
            "id": "gpt-x",
            "match": {"or": [{"equals": "gpt-x"}, {"starts_with": "gpt-x-20"}, {"starts_with": "ft:gpt-x"}]},
            "prices": {"input_mtok": 1, "output_mtok": 2},
        },
        {"id": "ft:gpt-x", "match": {"starts_with": "ft:gpt-x-20"}, "prices": {"input_mtok": 3, "output_mtok": 6}},
        {"id": "gpt-y", "match": {"regex": "^gpt-y-\\d+$"}, "prices": {"input_mtok": 1, "output_mtok": 2}},
    )
    built = build_crafted(genai=genai)
    rules = [MatchRule(**row) for row in built.rules]
    assert rules == [
        MatchRule("openai", EXACT, "gpt-x", "gpt-x", "genai-prices:openai/gpt-x"),
        MatchRule("openai", PREFIX, "gpt-x-20", "gpt-x", "genai-prices:openai/gpt-x"),
    ]
    assert resolve(rules, "openai", "ft:gpt-x-2024-07-18:acme:support:a1b2c3") is None
    assert built.summary.skipped["genai-prices fine-tune clauses"] == 1
    assert built.gaps[("genai-prices", "ft:gpt-x")] == [
        ("not_seeded", "a fine-tune: its price is the customer's own (price_overrides.csv)")
    ]
    assert built.summary.skipped["genai-prices regex clauses not expressible as exact/prefix rules"] == 1


def test_resolve_takes_an_exact_rule_first_then_the_longest_prefix():
    rules = [
        MatchRule("openai", PREFIX, "gpt-x", "gpt-x", "t"),
        MatchRule("openai", PREFIX, "gpt-x-mini", "gpt-x-mini", "t"),
        MatchRule("openai", EXACT, "gpt-x-mini-special", "gpt-x", "t"),
        MatchRule("azure", EXACT, "gpt-z", "gpt-z", "t"),
    ]
    assert resolve(rules, "openai", "GPT-X-MINI-2025-01-01") == "gpt-x-mini"
    assert resolve(rules, "openai", "gpt-x-2025-01-01") == "gpt-x"
    assert resolve(rules, "openai", "gpt-x-mini-special") == "gpt-x"
    assert resolve(rules, "openai", "gpt-z") is None
