"""The disagreement report on crafted maps: what counts as a disagreement and what does not."""

from __future__ import annotations


def chat(provider: str, **per_token) -> dict:
    return {"litellm_provider": provider, "mode": "chat", **per_token}


def langfuse_model(name: str, default: dict, priority: dict) -> dict:
    service_tier = {"source": "model_parameters", "key": "service_tier", "operator": "in", "values": ["priority"]}
    return {
        "modelName": name,
        "matchPattern": f"(?i)^(openai/)?({name})$",
        "pricingTiers": [
            {"name": "Standard", "isDefault": True, "priority": 0, "conditions": [], "prices": default},
            {"name": "Fast mode", "isDefault": False, "priority": 1, "conditions": [service_tier], "prices": priority},
        ],
    }


def test_differences_after_fallbacks_and_missing_entries(build_crafted):
    genai = [
        {
            "id": "openai",
            "name": "OpenAI",
            "api_pattern": "",
            "models": [{"id": "gpt-x", "match": {"equals": "gpt-x"}, "prices": {"input_mtok": 2, "output_mtok": 8}}],
        }
    ]
    litellm = {
        # cache reads written at the input rate agree with genai-prices' "not priced separately"
        "gpt-x": chat(
            "openai",
            input_cost_per_token=2e-06,
            cache_read_input_token_cost=2e-06,
            output_cost_per_token=8e-06,
            input_cost_per_token_priority=4e-06,
            output_cost_per_token_priority=1.6e-05,
        ),
        "gpt-y": chat("openai", input_cost_per_token=1e-06, output_cost_per_token=2e-06),
        # genai-prices (here) has no Groq models and Langfuse tracks none: nothing is missing
        "groq/llama-x": chat("groq", input_cost_per_token=1e-07, output_cost_per_token=2e-07),
    }
    langfuse = [
        langfuse_model("gpt-x", {"input": 2e-06, "output": 1e-05}, {"input": 4e-06, "output": 1.6e-05}),
    ]
    built = build_crafted(genai=genai, litellm=litellm, langfuse=langfuse)
    assert built.disagreements == [
        {
            "provider": "openai",
            "model": "gpt-x",
            "usage_type": "output",
            "service_tier": "default",
            "input_tokens_above": "0",
            "litellm_usd_per_mtok": "8",
            "genai_prices_usd_per_mtok": "8",
            "langfuse_usd_per_mtok": "10",
            "seed_usd_per_mtok": "8",
            "seed_source": "genai-prices",
            "disagreement": "price_differs",
        },
        *(
            {
                "provider": "openai",
                "model": "gpt-y",
                "usage_type": "",
                "service_tier": "default",
                "input_tokens_above": "0",
                "litellm_usd_per_mtok": "",
                "genai_prices_usd_per_mtok": "",
                "langfuse_usd_per_mtok": "",
                "seed_usd_per_mtok": "",
                "seed_source": "litellm",
                "disagreement": kind,
            }
            for kind in ("missing_in_genai_prices", "missing_in_langfuse")
        ),
    ]
